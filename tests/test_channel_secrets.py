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
            rows(conn, "SELECT assetctl_login_attempt(%s, 'd3Jvbmctd3Jvbmc', 'login')",
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


ATTEMPT = "SELECT assetctl_login_attempt(%s, %s, 'login')"
FINISH = "SELECT assetctl_login_finish(%s, %s, 60, NULL, NULL)"
# Per table, what the caller's own backend has read and written and not yet reported to
# the statistics collector (earlier transactions' counts may still be among them, so a
# guess is judged by the change across its step 1).
STATS = (
    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, seq_scan, idx_scan "
    "FROM pg_stat_xact_user_tables ORDER BY relname"
)
# What a caller sees of its own transaction besides the answer.
SIDE_CHANNELS = (
    "SELECT txid_current_if_assigned() IS NOT NULL",
    # The event rows it may read (its own under row-level security), as written so far.
    "SELECT user_id, email, success, ip, ip_source, jti, db_client_addr FROM login_events "
    "WHERE at = now()",
)


def _guess(conn: Any, email: str, password: str) -> tuple[str, list[Any]]:
    """One guess as the attacker makes it: step 1 only. (attempt id, what it can observe
    in its transaction: the answer's shape, the side channels and what an immediate
    finish says)."""
    import re

    from assetctl.core.auth import passwords

    settings = rows(conn, "SELECT assetctl_login_salt(%s)", (email,))[0][0]
    proof = passwords.relief_proof(password, settings)
    before = rows(conn, STATS)
    ((attempt,),) = rows(conn, ATTEMPT, (email, proof))
    after = rows(conn, STATS)
    assert re.fullmatch("[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", attempt)
    changed = [
        (a[0], *(x - y for x, y in zip(a[1:], b[1:], strict=True)))
        for a, b in zip(after, before, strict=True)
    ]
    assert ("login_attempts", 1, 0, 0) in [c[:4] for c in changed]  # it sees the writes
    seen: list[Any] = [changed, *(rows(conn, sql) for sql in SIDE_CHANNELS)]
    seen.append(rows(conn, FINISH, (attempt, "j-same-tx")))  # before its commit: refused
    return attempt, seen


def _count(team: Team, member: Member) -> tuple[Any, ...]:
    return team.sql_admin(
        "SELECT failed_logins, COALESCE(locked_until > now(), false), "
        "(SELECT count(*) FROM sessions WHERE user_id = users.id) FROM users WHERE id = %s",
        (member.user_id,),
    )[0]


def test_rolling_a_guess_back_gains_nothing_and_committed_guesses_lock(team: Team) -> None:
    """The attacker holds the user's own database login (no CLI): step 1 answers a right
    and a wrong guess alike (also for a foreign login and a locked account), so a guess
    rolled back teaches nothing and never yields a token; committed guesses count, and
    the account locks at exactly the threshold, the right password then included."""
    from .auth_helpers import PASSWORD

    threshold = 4
    team.admin.ok("policy", "set", "lockout_threshold", str(threshold))
    victim = add_member(team, "viewer")
    sessions_before = _count(team, victim)[2]
    seen: dict[str, list[Any]] = {}
    rolled_back = []
    for who, login_name in (("own", victim.login), ("foreign", team.members["operator"].login)):
        with connect_as(team.database, login_name) as conn:
            for guess in ("wrong guess one", PASSWORD, "wrong guess two"):
                attempt, observed = _guess(conn, victim.email, guess)
                seen[f"{who}:{guess}"] = observed
                rolled_back.append(attempt)
                conn.rollback()
    for key, observed in seen.items():
        base = seen[key.split(":")[0] + ":wrong guess one"]
        assert observed == base, (key, observed, base)
    assert seen["own:wrong guess one"][1] == [(True,)]  # it did write: just the same
    assert seen["own:wrong guess one"][-1] == [(None,)]
    # Nothing of it survived: no count, and the attempts the attacker holds do not exist.
    assert _count(team, victim) == (0, False, sessions_before)
    with connect_as(team.database, victim.login) as conn:
        assert [rows(conn, FINISH, (a, "j-rolled-back")) for a in rolled_back] == [[(None,)]] * len(
            rolled_back
        )
        conn.commit()
        # To learn anything it must commit, and each wrong guess then counts.
        for number in range(1, threshold + 1):
            attempt, _ = _guess(conn, victim.email, f"wrong guess {number}")
            conn.commit()
            assert rows(conn, FINISH, (attempt, f"j-{number}")) == [(None,)]
            conn.commit()
            assert _count(team, victim)[:2] == (number, number == threshold), number
        # Locked: the right password now looks like a wrong one inside the transaction ...
        locked: dict[str, list[Any]] = {}
        for guess in ("still wrong", PASSWORD):
            locked[guess] = _guess(conn, victim.email, guess)[1]
            conn.rollback()
        assert locked["still wrong"] == locked[PASSWORD] == seen["own:wrong guess one"]
        # ... and committed, it gets no token either.
        attempt, _ = _guess(conn, victim.email, PASSWORD)
        conn.commit()
        assert rows(conn, FINISH, (attempt, "j-locked")) == [(None,)]
        conn.commit()
    assert _count(team, victim) == (threshold, True, sessions_before)  # no count while locked
    team.admin.ok("user", "unlock", victim.email)
    team.admin.ok("policy", "set", "lockout_threshold", "5")


def test_a_disabled_account_answers_a_right_guess_like_a_wrong_one(team: Team) -> None:
    """Over another login (the disabled user's own lost its group role), step 1 does the
    same work for the right password as for a wrong one, and no attempt finishes; a right
    password's attempt opens no session, and a password check's attempt opens none either."""
    from .auth_helpers import PASSWORD

    victim = add_member(team, "viewer")
    team.admin.ok("user", "disable", victim.email)
    seen = {}
    with connect_as(team.database, team.members["operator"].login) as conn:
        for guess in ("a wrong guess here", PASSWORD):
            seen[guess] = _guess(conn, victim.email, guess)[1]
            conn.rollback()
        assert seen["a wrong guess here"] == seen[PASSWORD]
        attempt, _ = _guess(conn, victim.email, PASSWORD)
        conn.commit()
        assert rows(conn, FINISH, (attempt, "j-disabled")) == [(None,)]
        conn.commit()
    team.admin.ok("user", "enable", victim.email)
    team.admin.ok("user", "unlock", victim.email)
    with connect_as(team.database, victim.login) as conn:
        from assetctl.core.auth import passwords

        settings = rows(conn, "SELECT assetctl_login_salt(%s)", (victim.email,))[0][0]
        proof = passwords.relief_proof(PASSWORD, settings)
        ((check,),) = rows(conn, "SELECT assetctl_login_attempt(%s, %s, 'password')",
                           (victim.email, proof))  # fmt: skip
        conn.commit()
        assert rows(conn, FINISH, (check, "j-from-a-check")) == [(None,)]
        conn.commit()
    assert _count(team, victim)[2] == 1  # only add_member's session
    team.admin.ok("user", "unlock", victim.email)


def test_a_direct_login_is_on_record_with_the_address_the_server_saw(team: Team) -> None:
    """No CLI: the two steps called straight, without the client's follow-up. The database
    wrote the event itself (failed, then the success with its session) and an admin's
    `auth history` shows both with the server-observed address. A right password at one
    failure short of the threshold is no lock: its success undoes its own count."""
    from .auth_helpers import PASSWORD

    victim = add_member(team, "viewer")
    team.admin.ok("policy", "set", "lockout_threshold", "5")
    with connect_as(team.database, victim.login) as conn:
        for number in range(4):  # the threshold is 5: one short
            _guess(conn, victim.email, f"wrong {number}")
            conn.commit()
        attempt, _ = _guess(conn, victim.email, PASSWORD)
        conn.commit()
        assert _count(team, victim)[:2] == (5, True)  # pessimistically counted ...
        ((token,),) = rows(conn, FINISH, (attempt, "j-direct-login"))
        conn.commit()
        assert token and token.count(".") == 2
        assert rows(conn, FINISH, (attempt, "j-again")) == [(None,)]  # once only
        # The client's follow-up is its own once: another login may not add it.
        args = [attempt, "203.0.113.9", "echo", "[]"] + [None] * 9
        placeholders = ", ".join(["%s"] * len(args))
    assert _count(team, victim)[:2] == (0, False)  # ... and the success undid it
    with connect_as(team.database, team.members["operator"].login) as conn:
        assert refused(conn, f"SELECT assetctl_login_details({placeholders})", args)
    history = team.admin.ok("auth", "history", "--user", victim.email, "-o", "json").json()
    success = [e for e in history if e["jti"] == "j-direct-login"]
    assert len(success) == 1 and success[0]["success"] is True
    assert success[0]["db_client_addr"] == "127.0.0.1"
    assert (success[0]["ip"], success[0]["ip_source"], success[0]["hostname"]) == (
        None,
        "unknown",
        None,
    )
    failures = [e for e in history if not e["success"]]
    assert len(failures) >= 4 and {e["db_client_addr"] for e in failures} == {"127.0.0.1"}
    # The token works over the login it was opened over.
    own = Cli({**team.cli_for(victim).env, "ASSETCTL_TOKEN": token})
    assert victim.email in own.ok("auth", "whoami").stdout


def test_an_admin_cannot_acknowledge_an_alert_about_itself(team: Team) -> None:
    """An intruder holding an admin's password and login would otherwise make its new
    location "known": refused by the database and by the CLI (exit 5); another admin
    acknowledges it."""
    subject = add_member(team, "admin")
    delivery_id, _ = _pending_delivery(team, subject.user_id)
    ((alert_id,),) = team.sql_admin(
        "SELECT alert_id FROM alert_deliveries WHERE id = %s", (delivery_id,)
    )
    acked = "SELECT acked_at FROM security_alerts WHERE id = %s"
    with connect_as(team.database, subject.login) as conn:
        assert refused(conn, "SELECT assetctl_ack_alert(%s, NULL, now())", (alert_id,))
        conn.commit()
    assert team.sql_admin(acked, (alert_id,)) == [(None,)]
    own = team.cli_for(subject)
    result = own.sub("alerts", "ack", str(alert_id))
    assert result.exit_code == 5, result.stderr
    assert "your own account" in result.stderr and "another admin" in result.stderr
    assert "Traceback" not in result.stderr
    assert team.sql_admin(acked, (alert_id,)) == [(None,)]
    other = team.cli_for(team.members["admin"])
    assert other.ok("alerts", "ack", str(alert_id), "-o", "json").json()["acked_at"]
