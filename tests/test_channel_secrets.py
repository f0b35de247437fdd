"""Issue 14, the database half of what the previous step left open: lockout counters and the
alert channels' credentials out of every client's reach, and a pending alert that the user
it is about (an intruder holding that user's password and login is exactly that) cannot
cancel. Every attack connects as the attacker's own PostgreSQL login."""

from __future__ import annotations

from typing import Any

import pytest

from assetctl.core.security.policy import CHANNEL_KEYS

from .alert_fakes import IP_A, IP_B, Echo, Smtp, Webhook, echo, smtp, webhook
from .alert_helpers import login
from .conftest import NO_IP_LOOKUP, ROLE_PREFIX, Cli, base_env
from .role_fixtures import (
    Member,
    Team,
    add_member,
    connect_as,
    login_url,
    new_login,
    refused,
    rows,
    team,
)

pytestmark = pytest.mark.postgres
__all__ = ["echo", "smtp", "team", "webhook"]  # fixtures used by name

SMTP_PASSWORD = "smtp-Secret-pw-4711"
HOOK_TOKEN = "hook-Secret-777"
CLAIM = "SELECT assetctl_claim_delivery(%s, %s, %s)"
OUTCOME = "SELECT assetctl_delivery_outcome(%s, %s, now(), %s)"
FAR = "2999-01-01T00:00Z"


def _deliveries(team: Team, alert_id: int) -> dict[str, tuple[Any, ...]]:
    found = team.sql_admin(
        "SELECT channel, status, attempts, next_attempt_at <= now() FROM alert_deliveries "
        "WHERE alert_id = %s",
        (alert_id,),
    )
    return {str(row[0]): tuple(row[1:]) for row in found}


def _cron(team: Team) -> Cli:
    """The cron job of the README: a login that holds the admin group role, bound to no
    user, and no assetctl session at all."""
    name = new_login("c")
    team.sql_admin(f'GRANT "{ROLE_PREFIX}_admin" TO "{name}"')
    env = base_env(team.tmp / name, login_url(team.database, name))
    return Cli({**env, **NO_IP_LOOKUP})


def _pending_delivery(team: Team, user_id: int) -> tuple[int, Any]:
    """A due `log` delivery of a new alert about `user_id` (written as the DBA)."""
    ((alert_id,),) = team.sql_admin(
        "INSERT INTO security_alerts (user_id, kind, severity, location, details, at) "
        "VALUES (%s, 'new_ip', 'warning', '198.51.100.7', '{}', now()) RETURNING id",
        (user_id,),
    )
    ((delivery_id, seen),) = team.sql_admin(
        "INSERT INTO alert_deliveries (alert_id, channel, status, attempts, created_at, "
        "next_attempt_at) VALUES (%s, 'log', 'pending', 0, now(), now()) "
        "RETURNING id, next_attempt_at",
        (alert_id,),
    )
    return int(delivery_id), seen


def _cannot_touch(team: Team, member: Member, delivery_id: int, seen: Any) -> None:
    """`member`'s own login may neither claim the delivery nor report any outcome, and
    nothing about the row changes."""
    before = team.sql_admin("SELECT * FROM alert_deliveries WHERE id = %s", (delivery_id,))
    with connect_as(team.database, member.login) as conn:
        assert refused(conn, CLAIM, (delivery_id, seen, FAR))
        assert refused(conn, OUTCOME, (delivery_id, None, None))  # "delivered"
        for _ in range(3):  # failures would push the retry away and count as attempts
            assert refused(conn, OUTCOME, (delivery_id, "webhook: HTTP 500", FAR))
        conn.commit()
    assert team.sql_admin("SELECT * FROM alert_deliveries WHERE id = %s", (delivery_id,)) == before


def test_an_intruder_with_the_password_cannot_cancel_the_alert_of_its_login(
    team: Team, echo: Echo, webhook: Webhook, smtp: Smtp
) -> None:
    smtp.start()
    channels = {
        "alert_webhook_url": f"{webhook.url}?token={HOOK_TOKEN}",
        "smtp_url": f"smtp://127.0.0.1:{smtp.port}",
        "alert_email_to": "security@example.com",
    }
    for key, value in channels.items():
        team.admin.ok("policy", "set", key, value)
    victim = add_member(team, "viewer")
    own = team.cli_for(victim)
    env = {"ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, IP_B)}
    assert login(own, victim.email, env).exit_code == 0  # the baseline
    # The intruder: the victim's password, over the victim's own login, from a new address,
    # with channels of its own choosing in its environment (they play no part).
    hostile = {
        **env,
        "ASSETCTL_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/dead",
        "ASSETCTL_SMTP_URL": "",
    }
    intruder = login(own, victim.email, hostile)
    assert intruder.exit_code == 0, intruder.stderr
    assert "if this was not you" in intruder.stderr
    ((alert_id,),) = team.sql_admin(
        "SELECT id FROM security_alerts WHERE user_id = %s", (victim.user_id,)
    )
    # Its login queued every channel the policy sets, though it cannot read them; it sent
    # nothing itself, and the deliveries are due at once for someone else's client.
    assert _deliveries(team, alert_id) == {
        "log": ("pending", 0, True),
        "webhook": ("pending", 0, True),
        "email": ("pending", 0, True),
    }
    assert webhook.received == [] and smtp.handler.messages == []

    # Straight at the functions: no claim, no "delivered", no failures that count.
    ((delivery_id, seen),) = team.sql_admin(
        "SELECT id, next_attempt_at FROM alert_deliveries WHERE alert_id = %s "
        "AND channel = 'webhook'",
        (alert_id,),
    )
    _cannot_touch(team, victim, delivery_id, seen)
    # Nor through the CLI: its `alerts deliver` leaves them, and so does any other command.
    mine = own.ok("alerts", "deliver", "-o", "json").json()
    assert mine["delivered"] == 0 and mine["failed"] == 0
    own.ok("asset", "list")
    # Another non-admin user's client does not even see them.
    other = team.members["operator"]
    with connect_as(team.database, other.login) as conn:
        assert rows(conn, "SELECT id FROM alert_deliveries WHERE alert_id = %s", (alert_id,)) == []
        assert refused(conn, CLAIM, (delivery_id, seen, FAR))
    assert all(status == "pending" for status, *_ in _deliveries(team, alert_id).values())

    # The cron job of the README delivers them, through the installed entry point.
    report = _cron(team).sub("alerts", "deliver", "-o", "json")
    assert report.exit_code == 0, report.stderr
    assert report.json()["failed"] == 0 and report.json()["delivered"] >= 3
    delivered = {channel: row[:2] for channel, row in _deliveries(team, alert_id).items()}
    assert delivered == {
        "log": ("delivered", 1),
        "webhook": ("delivered", 1),
        "email": ("delivered", 1),
    }
    assert [(p["user"], p["details"]["ip"]) for p in webhook.received] == [(victim.email, IP_B)]
    assert len(smtp.handler.messages) == 1


def test_an_admin_cannot_close_the_delivery_of_its_own_alert(team: Team) -> None:
    """EXECUTE alone is not enough: an admin's login is refused for its own user's alert,
    and its CLI leaves the delivery to another admin or the cron job."""
    subject = add_member(team, "admin")
    delivery_id, seen = _pending_delivery(team, subject.user_id)
    _cannot_touch(team, subject, delivery_id, seen)
    own = team.cli_for(subject)
    own.ok("alerts", "deliver")
    status = "SELECT status FROM alert_deliveries WHERE id = %s"
    assert team.sql_admin(status, (delivery_id,)) == [("pending",)]
    team.cli_for(team.members["admin"]).ok("asset", "list")  # its after-command retry
    assert team.sql_admin(status, (delivery_id,)) == [("delivered",)]


def test_a_deliverer_cannot_hide_a_pending_alert_from_the_retries(team: Team) -> None:
    """The lease a claim takes and the backoff a failure asks for are capped by the database
    (a minute, an hour), whatever the caller passes."""
    deliverer = team.members["admin"]
    delivery_id, seen = _pending_delivery(team, team.members["viewer"].user_id)
    next_at = "SELECT next_attempt_at - now() FROM alert_deliveries WHERE id = %s"
    with connect_as(team.database, deliverer.login) as conn:
        assert rows(conn, CLAIM, (delivery_id, seen, FAR)) == [(True,)]
        ((lease,),) = rows(conn, next_at, (delivery_id,))
        assert lease.total_seconds() <= 60
        assert rows(conn, OUTCOME, (delivery_id, "mail server down", FAR)) == [(True,)]
        ((backoff,),) = rows(conn, next_at, (delivery_id,))
        assert 0 < backoff.total_seconds() <= 3600
        conn.commit()
    assert team.sql_admin(
        "SELECT status, attempts, last_error FROM alert_deliveries WHERE id = %s", (delivery_id,)
    ) == [("pending", 1, "mail server down")]


def test_no_client_login_selects_the_alert_channels(team: Team) -> None:
    """Their rows are hidden from every client login; the admin group (whose clients and
    the cron job deliver alerts) gets them through one definer function, nobody else."""
    settings = {
        "lockout_threshold": "6",
        "alert_webhook_url": f"https://hooks.example.com/{HOOK_TOKEN}",
        "smtp_url": f"smtp://alerts:{SMTP_PASSWORD}@mail.example.com:587",
        "alert_email_to": "security@example.com",
    }
    for key, value in settings.items():
        team.admin.ok("policy", "set", key, value)
    credentials = "SELECT o_key, o_value FROM assetctl_alert_credentials()"
    for role, member in team.members.items():
        with connect_as(team.database, member.login) as conn:
            keys = {key for (key,) in rows(conn, "SELECT key FROM security_policy")}
            assert keys == {"lockout_threshold"}, role
            assert rows(conn, "SELECT count(*) FROM security_policy WHERE key = 'smtp_url'") == [
                (0,)
            ]
            # Every login learns which channels are set (to queue its alerts), not how.
            assert rows(conn, "SELECT assetctl_alert_channels()") == [
                (["log", "webhook", "email"],)
            ]
            # The owner's policy reader would bypass the row policy: no client calls it.
            assert refused(conn, "SELECT assetctl_policy('smtp_url')"), role
            if role != "admin":
                assert refused(conn, credentials), role
                continue
            assert dict(rows(conn, credentials)) == {k: settings[k] for k in CHANNEL_KEYS}
    # `policy show` masks them for admins too, and still says where they come from.
    admin = team.cli_for(team.members["admin"])
    shown = admin.ok("policy", "show", "-o", "json")
    assert SMTP_PASSWORD not in shown.stdout and HOOK_TOKEN not in shown.stdout
    smtp_row = {row["key"]: row for row in shown.json()}["smtp_url"]
    assert (smtp_row["value"], smtp_row["source"]) == (
        "smtp://alerts:***@mail.example.com:587",
        "database",
    )
    for key in CHANNEL_KEYS:  # empty again, for the other tests of this module
        team.admin.ok("policy", "set", key, "")


def test_admins_see_who_is_locked_and_nobody_reads_the_counters(team: Team) -> None:
    victim = add_member(team, "viewer")
    attacker = team.members["operator"]
    with connect_as(team.database, attacker.login) as conn:
        for _ in range(6):  # this module's threshold is 6 (or the default 5)
            rows(conn, "SELECT assetctl_login(%s, 'd3Jvbmctd3Jvbmc', 'j', 60, NULL, NULL)",
                 (victim.email,))  # fmt: skip
        conn.commit()
    for role, member in team.members.items():
        with connect_as(team.database, member.login) as conn:
            for column in ("failed_logins", "first_failed_at", "locked_until"):
                assert refused(conn, f"SELECT {column} FROM users"), (role, column)
            locks = "SELECT * FROM assetctl_user_locks(ARRAY[%s]::bigint[])"
            if role != "admin":
                assert refused(conn, locks, (victim.user_id,)), role
                continue
            # Only whether (and until when) an account is locked: no count, no window.
            ((user_id, until),) = rows(conn, locks, (victim.user_id,))
            assert user_id == victim.user_id and until is not None
    admin = team.cli_for(team.members["admin"])
    listed = {u["email"]: u for u in admin.ok("user", "list", "-o", "json").json()}
    assert listed[victim.email]["locked"] is True and listed[victim.email]["locked_until"]
    assert listed[attacker.email]["locked"] is False
    assert set(listed[victim.email]) == {"id", "email", "name", "role", "active", "locked",
                                         "locked_until", "created_at", "last_login_at"}  # fmt: skip
    unlocked = admin.ok("user", "unlock", victim.email, "-o", "json").json()
    assert (unlocked["locked"], unlocked["locked_until"]) == (False, None)
    assert team.sql_admin(
        "SELECT failed_logins, locked_until FROM users WHERE id = %s", (victim.user_id,)
    ) == [(0, None)]
    denied = team.cli_for(team.members["viewer"])("user", "list")
    assert denied.exit_code == 5, denied.stderr


def test_a_refused_right_password_looks_like_a_wrong_one_inside_the_transaction(
    team: Team,
) -> None:
    """Another user's login that guesses the right password gets the same NULL, and writes
    the same row, as for a wrong one: rolling the call back teaches it nothing."""
    from assetctl.core.auth import passwords

    from .auth_helpers import PASSWORD

    victim = add_member(team, "viewer")
    guesser = team.members["operator"]
    seen = []
    with connect_as(team.database, guesser.login) as conn:
        settings = rows(conn, "SELECT assetctl_login_salt(%s)", (victim.email,))[0][0]
        for guess in ("not the passphrase", PASSWORD):
            proof = passwords.relief_proof(guess, settings)
            answer = rows(
                conn, "SELECT assetctl_login(%s, %s, 'j', 60, NULL, NULL)", (victim.email, proof)
            )
            wrote = rows(conn, "SELECT txid_current_if_assigned() IS NOT NULL")
            seen.append((answer, wrote))
            conn.rollback()
    assert seen == [([(None,)], [(True,)])] * 2
