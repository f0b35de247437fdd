"""Issue 4: the pure pieces of security alerts, case by case."""

from __future__ import annotations

import pytest

from assetctl.config import load_settings
from assetctl.core.security.alerts import distance_km, location_key, parse_since
from assetctl.core.security.channels import email_text, log_line, neutralise
from assetctl.core.security.public_ip import BadAnswer, configured_urls, parse_answer
from assetctl.errors import InvalidInputError


@pytest.mark.parametrize(
    ("body", "address"),
    [
        (b"8.8.8.8\n", "8.8.8.8"),
        (b"  2a00:1450:4001:81c::200e ", "2a00:1450:4001:81c::200e"),
        (b"::ffff:8.8.8.8", "8.8.8.8"),  # IPv4-mapped IPv6 is unwrapped
    ],
)
def test_echo_answers_that_are_accepted(body: bytes, address: str) -> None:
    assert parse_answer(body) == address


@pytest.mark.parametrize(
    "body",
    [b"<html>8.8.8.8</html>", b"10.0.0.1", b"127.0.0.1", b"::1", b"::ffff:192.168.1.1",
     b"169.254.1.1", b"100.64.0.1", b"203.0.113.7", b"8" * 65, b"\xff\xfe", b""],
)  # fmt: skip
def test_echo_answers_that_are_refused(body: bytes) -> None:
    with pytest.raises(BadAnswer):
        parse_answer(body)


def test_lookup_urls_setting() -> None:
    assert configured_urls("off") == []
    assert configured_urls("https://a.example/ip, https://b.example") == [
        "https://a.example/ip",
        "https://b.example",
    ]
    env = {"XDG_CONFIG_HOME": "/nonexistent"}
    assert load_settings(env).values["public_ip_urls"] == (
        "https://api.ipify.org, https://ifconfig.me/ip"
    )
    for bad in ("http://ip.example.com", "ftp://127.0.0.1/x", "https://"):
        with pytest.raises(InvalidInputError, match="public_ip_urls"):
            load_settings({**env, "ASSETCTL_PUBLIC_IP_URLS": bad})
    from assetctl.core.security.policy import parse_policy

    for bad_url in ("smtp://", "imap://mail.example.com", "smtp://h?starttls=maybe"):
        with pytest.raises(InvalidInputError, match="smtp_url"):
            parse_policy("smtp_url", bad_url)
    with pytest.raises(InvalidInputError, match="alert_email_to"):
        parse_policy("alert_email_to", "not-an-address")


def test_ipv6_locations_are_64_networks() -> None:
    assert location_key("2a00:1450:4001:81c::1") == "2a00:1450:4001:81c::/64"
    assert location_key("2a00:1450:4001:81c:ffff::1") == "2a00:1450:4001:81c::/64"
    assert location_key("8.8.8.8") == "8.8.8.8"


def test_distance() -> None:
    assert distance_km(51.51, -0.13, 35.68, 139.69) == pytest.approx(9560, rel=0.01)
    assert distance_km(10, 10, 10, 10) == 0


def test_since_accepts_times_and_durations() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_since("24h", now) == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T08:00:00+02:00", now) == datetime(2026, 11, 1, 6, tzinfo=UTC)
    with pytest.raises(InvalidInputError):
        parse_since("soon", now)


def test_neutralise_and_log_line() -> None:
    assert neutralise("host\r\nname\t\x1b[2J\u2028") == "host\\r\\nname\\t\\x1b[2J\\u2028"
    assert neutralise("Zürich office") == "Zürich office"
    line = log_line(
        {"alert_id": 1, "kind": "new_ip", "severity": "warning", "user": "a@b.example",
         "details": {"hostname": "evil\nevent=forged", "ip": "8.8.8.8"}}
    )  # fmt: skip
    assert "\n" not in line
    assert line.startswith("event=security.login_alert alert_id=1 kind=new_ip")
    assert 'hostname="evil\\\\nevent=forged"' in line


def test_email_subject_cannot_inject_headers() -> None:
    subject, body = email_text(
        {"alert_id": 1, "kind": "new_ip", "severity": "warning",
         "user": "a@b.example\r\nBcc: victim@example.com", "details": {}}
    )  # fmt: skip
    assert "\r" not in subject and "\n" not in subject
    assert "Account:   a@b.example\\r\\nBcc: victim@example.com" in body
    assert not any(line.startswith("Bcc:") for line in body.splitlines())
