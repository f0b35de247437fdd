"""Security alerts. Public face: `login_events` (the audited login), `alerts` (detection,
listing, ack) and `notify` (deliveries and their retries); `channels`, `geo`, `public_ip`
and `store` serve them.
"""
