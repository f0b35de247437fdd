"""Issue 4: public IP at every login, login events, new-location alerts and their
notifications, on SQLite and PostgreSQL, against real servers on 127.0.0.1."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.alert_fakes import (
    IP_A,
    IP_B,
    IP_C,
    Echo,
    Smtp,
    Webhook,
    echo,
    smtp,
    webhook,
)
from tests.alert_helpers import (
    alerts,
    assert_no_secrets,
    deliveries,
    events,
    login,
    secrets,
    set_policy,
)
from tests.asset_fixtures import error_json
from tests.auth_helpers import as_user, query, register, token_for
from tests.conftest import ADMIN_EMAIL, Cli, run_fresh

__all__ = ["echo", "smtp", "webhook"]  # fixtures used by name

USER = "user@example.com"
NOTICE = "if this was not you"


def channels_env(cli: Cli, webhook: Webhook, smtp: Smtp) -> dict[str, str]:
    """The channels in the database policy; sender and timeout in the caller's env."""
    set_policy(
        cli,
        {
            "alert_webhook_url": webhook.url,
            "smtp_url": f"smtp://127.0.0.1:{smtp.port}",
            "alert_email_to": "security@example.com",
        },
    )
    return {"ASSETCTL_ALERT_EMAIL_FROM": "assetctl@example.com", "ASSETCTL_ALERT_TIMEOUT": "1"}


def test_baseline_then_new_ip_alerts_everywhere(
    cli: Cli,
    db_url: str,
    echo: Echo,
    webhook: Webhook,
    smtp: Smtp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp.start()
    register(cli, USER, "operator")
    env = {
        "ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, IP_B),
        **channels_env(cli, webhook, smtp),
    }

    first = login(cli, USER, env)
    assert first.exit_code == 0, first.stderr
    assert "security alert" not in first.stderr
    assert alerts(db_url) == []
    [baseline] = events(db_url, USER)
    assert baseline["success"] and baseline["ip"] == IP_A and baseline["ip_source"] == "echo"
    assert baseline["jti"] and baseline["cli_version"] and baseline["hostname"]
    # PostgreSQL's inet_client_addr(): loopback here, so recorded but never used as "public".
    expected_db_addr = None if db_url.startswith("sqlite") else "127.0.0.1"
    assert baseline["db_client_addr"] == expected_db_addr

    with caplog.at_level(logging.WARNING, logger="assetctl.security"):
        second = login(cli, USER, env)
    assert second.exit_code == 0, second.stderr
    assert f"this login to {USER} came from a new IP address {IP_B}" in second.stderr
    assert NOTICE in second.stderr and "assetctl auth passwd" in second.stderr
    [alert] = alerts(db_url)
    assert (alert["kind"], alert["severity"], alert["location"]) == ("new_ip", "warning", IP_B)
    assert alert["acked_at"] is None

    records = [r for r in caplog.records if r.name == "assetctl.security"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    line = records[0].getMessage()
    assert line.startswith("event=security.login_alert ")
    assert f"kind=new_ip severity=warning user={USER}" in line and f"ip={IP_B}" in line

    [posted] = webhook.received
    assert posted["event"] == "security.login_alert"
    assert (posted["kind"], posted["user"], posted["details"]["ip"]) == ("new_ip", USER, IP_B)
    [(sender, recipients, _)] = smtp.handler.messages
    assert (sender, recipients) == ("assetctl@example.com", ["security@example.com"])
    [mail] = smtp.handler.parsed()
    assert "new_ip" in mail["Subject"] and USER in mail["Subject"]
    assert {(d["channel"], d["status"]) for d in deliveries(db_url)} == {
        ("log", "delivered"),
        ("webhook", "delivered"),
        ("email", "delivered"),
    }

    listed = cli.ok("alerts", "list", "-o", "json").json()
    assert [(a["id"], a["user"], a["kind"]) for a in listed] == [(alert["id"], USER, "new_ip")]
    assert listed[0]["deliveries"] == {"log": "delivered", "webhook": "delivered",
                                       "email": "delivered"}  # fmt: skip

    history = cli.ok("auth", "history", "--user", USER, "-o", "json").json()
    assert [h["ip"] for h in history] == [IP_B, IP_A]
    assert history[0]["public_ips"] == [{"address": IP_B, "source": echo.url("/seq")}]

    captured = [first.stdout, first.stderr, second.stdout, second.stderr, caplog.text,
                webhook.raw(), *(m[2].decode() for m in smtp.handler.messages)]  # fmt: skip
    # The database URL (with any password it has) never appears either.
    assert_no_secrets(captured, secrets(cli, db_url, [db_url]))


def test_an_admin_cannot_acknowledge_an_alert_about_itself(
    cli: Cli, db_url: str, echo: Echo
) -> None:
    """Whoever holds an admin's password (the intruder the alert may be about) cannot make
    its own new location "known": exit 5, nothing written; another admin acknowledges."""
    subject = "second-admin@example.com"
    register(cli, subject, "admin")
    env = {"ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, IP_B)}
    assert login(cli, subject, env).exit_code == 0
    assert NOTICE in login(cli, subject, env).stderr
    [alert] = alerts(db_url)
    own = as_user(cli, token_for(cli, subject))
    refused = own.sub("alerts", "ack", str(alert["id"]))
    assert refused.exit_code == 5, refused.stderr
    assert "about your own account" in refused.stderr and "another admin" in refused.stderr
    assert alerts(db_url)[0]["acked_at"] is None
    as_json = own("alerts", "ack", str(alert["id"]), "-o", "json")
    assert as_json.exit_code == 5 and "another admin" in error_json(as_json)["hint"]
    acked = cli.ok("alerts", "ack", str(alert["id"]), "-o", "json").json()
    assert acked["acked_by"] == ADMIN_EMAIL


def test_one_alert_per_location_per_day_until_acknowledged(
    cli: Cli, db_url: str, echo: Echo
) -> None:
    register(cli, USER, "viewer")
    env = {"ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, IP_B)}
    assert login(cli, USER, env).exit_code == 0
    assert NOTICE in login(cli, USER, env).stderr
    # The same new address again within 24 h: recorded, but no second alert.
    again = login(cli, USER, env)
    assert again.exit_code == 0 and "security alert" not in again.stderr
    assert len(alerts(db_url)) == 1
    assert [e["ip"] for e in events(db_url, USER)] == [IP_A, IP_B, IP_B]

    [alert] = alerts(db_url)
    viewer = as_user(cli, token_for(cli, USER))
    denied = viewer("alerts", "ack", str(alert["id"]))
    assert denied.exit_code == 5
    assert "does not allow" in denied.stderr
    assert alerts(db_url)[0]["acked_at"] is None
    missing = cli("alerts", "ack", "999999")
    assert missing.exit_code == 3 and "no security alert 999999" in missing.stderr

    acked = cli.ok("alerts", "ack", str(alert["id"]), "-o", "json").json()
    assert acked["acked_by"] == ADMIN_EMAIL and acked["acked_at"]
    assert cli.ok("alerts", "list", "--open", "-o", "json").json() == []
    assert len(cli.ok("alerts", "list", "--since", "1h", "-o", "json").json()) == 1
    # Acknowledged: B is now a known location.
    assert "security alert" not in login(cli, USER, env).stderr
    assert len(alerts(db_url)) == 1


def test_ipv6_is_compared_by_64_and_mapped_ipv4_is_unwrapped(
    cli: Cli, db_url: str, echo: Echo
) -> None:
    register(cli, USER, "viewer")
    answers = ("2a00:1450:4001:81c::1", "2a00:1450:4001:81c::99", "2a00:1450:4001:82c::1",
               f"::ffff:{IP_C}")  # fmt: skip
    env = {"ASSETCTL_PUBLIC_IP_URLS": echo.set("/v6", *answers)}
    for _ in answers:
        assert login(cli, USER, env).exit_code == 0
    assert [e["ip"] for e in events(db_url, USER)] == [*answers[:3], IP_C]
    assert [(a["kind"], a["location"]) for a in alerts(db_url)] == [
        ("new_ip", "2a00:1450:4001:82c::/64"),
        ("new_ip", IP_C),
    ]


def test_services_that_disagree_are_both_recorded(cli: Cli, db_url: str, echo: Echo) -> None:
    register(cli, USER, "viewer")
    env = {"ASSETCTL_PUBLIC_IP_URLS": f"{echo.set('/a', IP_A)}, {echo.set('/b', IP_C)}"}
    assert login(cli, USER, env).exit_code == 0
    [event] = events(db_url, USER)
    assert event["ip"] == IP_A
    assert sorted(p["address"] for p in event["public_ips"]) == sorted([IP_A, IP_C])


BAD_ECHOES = {
    "/html": "answer is not an IP address",
    "/private": "10.1.2.3 is not a public (global) address",
    "/loopback": "127.0.0.1 is not a public (global) address",
    "/huge": "answer longer than 64 bytes",
    "/error": "HTTP 500",
    "/hang": "no answer within 0.5 s",
}


def test_bad_echo_answers_record_unknown_and_warn_with_verbose(
    cli: Cli, db_url: str, echo: Echo
) -> None:
    register(cli, USER, "viewer")
    base = {"ASSETCTL_PUBLIC_IP_TIMEOUT": "0.5"}
    assert (
        login(cli, USER, {**base, "ASSETCTL_PUBLIC_IP_URLS": echo.set("/a", IP_A)}).exit_code == 0
    )
    for path, reason in BAD_ECHOES.items():
        env = {**base, "ASSETCTL_PUBLIC_IP_URLS": echo.url(path)}
        quiet = login(cli, USER, env)
        assert quiet.exit_code == 0, (path, quiet.stderr)
        assert "public IP lookup" not in quiet.stderr
        verbose = login(cli, USER, env, verbose=True)
        assert verbose.exit_code == 0, (path, verbose.stderr)
        assert f"public IP lookup: {echo.url(path).split('/')[2]}: {reason}" in verbose.stderr
        assert "security alert" not in quiet.stderr + verbose.stderr
    recorded = events(db_url, USER)
    assert len(recorded) == 1 + 2 * len(BAD_ECHOES)
    assert all(e["ip"] is None and e["ip_source"] == "unknown" for e in recorded[1:])
    assert all(e["success"] and e["public_ips"] == [] for e in recorded[1:])
    assert alerts(db_url) == []


def test_lookup_off_is_recorded_as_off(cli: Cli, db_url: str) -> None:
    register(cli, USER, "viewer")
    assert login(cli, USER, {"ASSETCTL_PUBLIC_IP_URLS": "off"}).exit_code == 0
    assert [(e["ip"], e["ip_source"]) for e in events(db_url, USER)] == [(None, "off")]
    refused = cli("config", "show", env={"ASSETCTL_PUBLIC_IP_URLS": "http://203.0.113.9/ip"})
    assert refused.exit_code == 2
    assert "public_ip_urls" in refused.stderr and "only for loopback" in refused.stderr


def test_failed_logins_are_recorded(cli: Cli, db_url: str, echo: Echo) -> None:
    register(cli, USER, "viewer")
    env = {"ASSETCTL_PUBLIC_IP_URLS": echo.set("/a", IP_A)}
    wrong = login(cli, USER, env, password="not the password")
    assert wrong.exit_code == 4 and "login failed" in wrong.stderr
    unknown = login(cli, "ghost@example.com", env)
    assert unknown.exit_code == 4
    garbled = login(cli, "my secret passphrase", env)
    assert garbled.exit_code == 4
    # (On PostgreSQL the fixture's own login, made through the core functions without the
    # CLI, is on record too: the database writes every login's event.)
    rows = query(
        db_url,
        "SELECT user_id, email, success, ip FROM login_events WHERE email <> :a ORDER BY id",
        a=ADMIN_EMAIL,
    )
    user_id = query(db_url, "SELECT id FROM users WHERE email = :e", e=USER)[0]["id"]
    assert rows == [
        {"user_id": user_id, "email": USER, "success": False, "ip": IP_A},
        {"user_id": None, "email": "ghost@example.com", "success": False, "ip": IP_A},
        {"user_id": None, "email": "(not an email address)", "success": False, "ip": IP_A},
    ]
    # The failure counter still counts (the event did not replace the lockout logic).
    assert query(db_url, "SELECT failed_logins FROM users WHERE email = :e", e=USER) == [
        {"failed_logins": 1}
    ]
    ghost = cli.ok("auth", "history", "--user", "ghost@example.com", "-o", "json").json()
    assert [(h["email"], h["success"]) for h in ghost] == [("ghost@example.com", False)]
    viewer = as_user(cli, token_for(cli, USER))
    own = viewer.ok("auth", "history", "-o", "json").json()
    assert [h["success"] for h in own] == [True, False]
    denied = viewer("auth", "history", "--user", ADMIN_EMAIL)
    assert denied.exit_code == 5 and "only an admin" in denied.stderr
    assert viewer("alerts", "list", "--user", ADMIN_EMAIL).exit_code == 5
    assert viewer.ok("alerts", "list", "-o", "json").json() == []
    bad_since = cli("alerts", "list", "--since", "yesterday-ish")
    assert bad_since.exit_code == 2 and "--since" in bad_since.stderr


def test_control_characters_are_neutralised(
    cli: Cli,
    db_url: str,
    echo: Echo,
    webhook: Webhook,
    smtp: Smtp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp.start()
    # Emails with control characters are refused at registration (test_auth); the OS user
    # is the field an attacker still controls.
    evil = "evil@example.com"
    register(cli, evil, "viewer")
    env = {
        "ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, IP_B),
        "USER": "bob\r\nevent=security.login_alert kind=forged\x07",
        **channels_env(cli, webhook, smtp),
    }
    assert login(cli, evil, env).exit_code == 0
    with caplog.at_level(logging.WARNING, logger="assetctl.security"):
        result = login(cli, evil, env)
    assert result.exit_code == 0, result.stderr
    [record] = [r for r in caplog.records if r.name == "assetctl.security"]
    line = record.getMessage()
    for raw in ("\r", "\n", "\x07"):
        assert raw not in line
        if raw != "\n":
            assert raw not in result.stderr
    assert all(not row.startswith("event=") for row in result.stderr.splitlines())
    # logfmt: escapes made visible, and their backslashes escaped inside the quotes.
    assert r'os_user="bob\\r\\nevent=security.login_alert kind=forged\\x07"' in line
    assert "user=evil@example.com" in line
    [mail] = smtp.handler.parsed()
    assert "\x07" not in mail["Subject"] and "\x07" not in str(mail.get_payload())
    assert "\\r\\n" in str(mail.get_payload())
    # Stored as the field rules allow (issue 18): the control characters visibly escaped.
    assert webhook.received[0]["details"]["os_user"] == (
        "bob\\r\\nevent=security.login_alert kind=forged\\x07"
    )


def test_hook_retry_does_not_import_httpx_when_nothing_is_pending(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    fresh = run_fresh(cli.env, "asset", "list", "-o", "json")
    assert (fresh.code, "httpx" in fresh.modules) == (0, False)
    del db_url, tmp_path
