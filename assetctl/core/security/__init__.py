"""Security alerts. Public face: `login_events` (the audited login), `alerts` (detection,
listing, ack), `notify` (deliveries and their retries) and `due` (which deliveries are due,
checked after every command); `channels`, `geo`, `public_ip` and `store` serve them.
"""
