"""Issue 14, part 1: the security policy lives in the database (`assetctl policy show|set`,
admin only); a caller's environment changes nothing the database enforces."""

from __future__ import annotations

import re
from typing import Any

import psycopg2.errors
import pytest

from .alert_fakes import IP_A, IP_B, Echo, Webhook, echo, webhook
from .alert_helpers import alerts, login, set_policy
from .auth_helpers import PASSWORD, as_user, claims_of, forge, query, register, token_for
from .conftest import Cli
from .role_fixtures import Team, add_member, connect_as, refused, rows, team

__all__ = ["echo", "team", "webhook"]  # fixtures used by name

USER = "v@example.com"
# The login function called directly with a well-formed but wrong proof.
WRONG_PROOF = "SELECT assetctl_login_attempt(%s, 'd3Jvbmctd3Jvbmc', 'login')"
WRONG = "wrong password!!"


def _policy(cli: Cli) -> dict[str, Any]:
    return {row["key"]: row for row in cli.ok("policy", "show", "-o", "json").json()}


def _counters(db_url: str) -> dict[str, Any]:
    (row,) = query(db_url, "SELECT failed_logins, locked_until FROM users WHERE email = :e", e=USER)
    return row


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("lockout_speed", "5", "unknown policy key"),
        ("lockout_window", "0s", "at least one second"),
        # `m` is months everywhere; a policy span refuses calendar units rather than guess.
        ("lockout_window", "15m", "15min"),
        ("token_lifetime", "1y", "years"),
        ("lockout_duration", "-1d", "expected a duration"),
        # (36500d is refused earlier by every duration's ten-year cap.)
        ("lockout_duration", "365d", "at most 30 days"),
        ("token_lifetime", "366d", "at most 365 days"),
        ("token_lifetime", "0s", "at least one second"),
        ("lockout_threshold", "0", "from 1 to 100"),
        ("alert_webhook_url", "ftp://hooks.example.com/x", "http:// or https://"),
        ("alert_webhook_url", "https://", "with a host"),
        ("smtp_url", "imap://mail.example.com", "smtp://"),
        ("smtp_url", "smtp://mail.example.com?starttls=maybe", "starttls"),
        ("alert_email_to", "not-an-address", "not an email address"),
        ("alert_unknown_ip", "maybe", "on or off"),
    ],
)
def test_bad_policy_values_are_refused_naming_key_and_value(
    cli: Cli, db_url: str, key: str, value: str, reason: str
) -> None:
    before = _policy(cli)
    result = cli("policy", "set", key, value)
    assert result.exit_code == 2, result.stderr
    assert key in result.stderr and reason in result.stderr
    assert value in result.stderr or "://" in value  # URLs are named without credentials
    assert _policy(cli) == before
    assert query(db_url, "SELECT key FROM security_policy") == []


def test_only_an_admin_sees_or_sets_the_policy(cli: Cli, db_url: str) -> None:
    for role in ("viewer", "operator"):
        email = f"{role}@example.com"
        register(cli, email, role)
        other = as_user(cli, token_for(cli, email))
        denied = other("policy", "set", "lockout_threshold", "1")
        assert denied.exit_code == 5, denied.stderr
        assert "does not allow" in denied.stderr
        assert other("policy", "show").exit_code == 5
    assert query(db_url, "SELECT key FROM security_policy") == []
    cli.ok("policy", "set", "lockout_threshold", "7")
    shown = _policy(cli)["lockout_threshold"]
    assert (shown["value"], shown["source"], shown["default"]) == ("7", "database", "5")


def test_policy_show_masks_channel_credentials(cli: Cli) -> None:
    set_policy(
        cli,
        {
            "alert_webhook_url": "https://hooks.example.com/T0k3n-Secret?sig=Secret2",
            "smtp_url": "smtp://alerts:Pw-Secret@mail.example.com:587",
        },
    )
    shown = cli.ok("policy", "show").stdout
    assert "Secret" not in shown
    assert "https://hooks.example.com/***" in shown
    assert "smtp://alerts:***@mail.example.com:587" in shown


def test_lockout_env_overrides_change_nothing(cli: Cli, db_url: str) -> None:
    """ASSETCTL_LOCKOUT_THRESHOLD=1 + DURATION=36500d cannot lock an account with one wrong
    password, and LOCKOUT_WINDOW=1s cannot switch the lockout off."""
    register(cli, USER, "viewer")
    hostile = {"ASSETCTL_LOCKOUT_THRESHOLD": "1", "ASSETCTL_LOCKOUT_DURATION": "36500d",
               "ASSETCTL_LOCKOUT_WINDOW": "1s"}  # fmt: skip
    assert login(cli, USER, hostile, password=WRONG).exit_code == 4
    assert _counters(db_url) == {"failed_logins": 1, "locked_until": None}
    for _ in range(4):  # the database's threshold (5) within its window (15 min)
        assert login(cli, USER, hostile, password=WRONG).exit_code == 4
    counters = _counters(db_url)
    assert counters["failed_logins"] == 5 and counters["locked_until"] is not None
    assert login(cli, USER, hostile).exit_code == 4  # locked, right password or not
    assert login(cli, USER, {}).exit_code == 4
    cli.ok("user", "unlock", USER)
    assert login(cli, USER, {}).exit_code == 0


def test_policy_lockout_applies_to_every_caller(cli: Cli, db_url: str) -> None:
    register(cli, USER, "viewer")
    set_policy(cli, {"lockout_threshold": "2", "lockout_duration": "1h"})
    lenient = {"ASSETCTL_LOCKOUT_THRESHOLD": "100"}
    for _ in range(2):
        assert login(cli, USER, lenient, password=WRONG).exit_code == 4
    assert login(cli, USER, lenient).exit_code == 4
    assert _counters(db_url)["failed_logins"] == 2


def test_policy_lifetime_bounds_every_new_token(cli: Cli) -> None:
    register(cli, USER, "viewer")
    # The longest lifetime any duration setting accepts (3650d); the policy still bounds it.
    long_env = Cli({**cli.env, "ASSETCTL_TOKEN_LIFETIME": "3650d"})
    claims = claims_of(token_for(long_env, USER))
    assert claims["exp"] - claims["iat"] == 8 * 3600  # the default policy, not a century
    cli.ok("policy", "set", "token_lifetime", "90s")
    claims = claims_of(token_for(long_env, USER))
    assert claims["exp"] - claims["iat"] == 90
    # A caller may only make its own session stricter.
    shorter = Cli({**cli.env, "ASSETCTL_TOKEN_LIFETIME": "60s"})
    claims = claims_of(token_for(shorter, USER))
    assert claims["exp"] - claims["iat"] == 60
    status = as_user(cli, token_for(long_env, USER)).ok("auth", "status", "-o", "json").json()
    assert status["email"] == USER


def test_alert_channels_come_from_the_policy_not_the_caller(
    cli: Cli, db_url: str, echo: Echo, webhook: Webhook
) -> None:
    register(cli, USER, "viewer")
    set_policy(cli, {"alert_webhook_url": webhook.url})
    # The intruder's environment names a dead webhook and no email: both are ignored.
    env = {
        "ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, IP_B),
        "ASSETCTL_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/dead",
        "ASSETCTL_SMTP_URL": "",
    }
    assert login(cli, USER, env).exit_code == 0
    assert login(cli, USER, env).exit_code == 0
    assert [p["details"]["ip"] for p in webhook.received] == [IP_B]


def test_unknown_public_ip_is_alerted_when_the_policy_says_so(
    cli: Cli, echo: Echo, db_url: str
) -> None:
    register(cli, USER, "viewer")
    hidden = {"ASSETCTL_PUBLIC_IP_URLS": "off"}
    assert login(cli, USER, hidden).exit_code == 0
    assert alerts(db_url) == []  # the default: recorded, not alerted
    cli.ok("policy", "set", "alert_unknown_ip", "on")
    result = login(cli, USER, hidden)
    assert result.exit_code == 0
    [alert] = alerts(db_url)
    assert (alert["kind"], alert["severity"], alert["location"]) == (
        "unknown_ip",
        "warning",
        "unknown",
    )
    assert "if this was not you" in result.stderr


def test_policy_set_runs_through_the_installed_entry_point(cli: Cli) -> None:
    result = cli.sub("policy", "set", "token_lifetime", "2h")
    assert result.exit_code == 0, result.stderr
    assert _policy(cli)["token_lifetime"]["value"] == "7200"
    bad = cli.sub("policy", "set", "token_lifetime", "400d")
    assert bad.exit_code == 2 and "token_lifetime" in bad.stderr and "400d" in bad.stderr
    assert PASSWORD not in bad.stderr


@pytest.mark.postgres
def test_no_client_login_writes_the_policy_but_through_the_admin_function(team: Team) -> None:
    for role, member in team.members.items():
        with connect_as(team.database, member.login) as conn:
            assert refused(
                conn,
                "INSERT INTO security_policy (key, value, updated_at) "
                "VALUES ('lockout_threshold', '100', now())",
            ), role
            assert refused(conn, "UPDATE security_policy SET value = '100'"), role
            assert refused(conn, "DELETE FROM security_policy"), role
            calling = refused(conn, "SELECT assetctl_set_policy('lockout_threshold', '9', NULL)")
            assert calling is (role != "admin"), role
            # The old signature that took the policy from the caller is gone, and the new
            # one is only called by assetctl_login_attempt, which counts every attempt.
            with pytest.raises(psycopg2.errors.UndefinedFunction):
                rows(conn, "SELECT assetctl_login_failed(1, now(), 1, 1, 999999999)")
            conn.rollback()
            assert refused(conn, "SELECT assetctl_login_failed(1)"), role
    admin = team.members["admin"]
    with connect_as(team.database, admin.login) as conn:
        for value in ("0", "99999999999", "8h", "-1"):
            with pytest.raises(psycopg2.errors.InvalidParameterValue):
                rows(conn, "SELECT assetctl_set_policy('token_lifetime', %s, NULL)", (value,))
            conn.rollback()
        with pytest.raises(psycopg2.errors.InvalidParameterValue):
            rows(conn, "SELECT assetctl_set_policy('lockout_off', 'yes', NULL)")


@pytest.mark.postgres
def test_the_lockout_holds_for_a_client_that_skips_the_cli(team: Team) -> None:
    victim = add_member(team, "viewer")
    attacker = team.members["viewer"]
    with connect_as(team.database, attacker.login) as conn:
        for _ in range(5):
            ((attempt,),) = rows(conn, WRONG_PROOF, (victim.email,))
            assert re.fullmatch("[0-9a-f-]{36}", attempt)
        conn.commit()
    ((count, locked),) = team.sql_admin(
        "SELECT failed_logins, locked_until > now() FROM users WHERE id = %s", (victim.user_id,)
    )
    assert (count, locked) == (5, True)
    own = Cli({**team.cli_for(victim).env, "ASSETCTL_TOKEN": ""})
    assert login(own, victim.email, {}).exit_code == 4
    # Nor may a client open a session for a locked account by calling the function itself.
    with connect_as(team.database, victim.login) as conn:
        assert refused(
            conn,
            "SELECT assetctl_login_succeeded(%s, 'forged-jti', 3600, NULL, NULL)",
            (victim.user_id,),
        )


# What a scenario of logins, lockout, lifetime and revocation must end in, on SQLite (the
# Python implementation) and on PostgreSQL (the definer functions) alike.
PARITY = [
    ("login despite hostile env", 0),
    ("token lifetime", 3600),
    ("wrong password", 4),
    ("wrong password", 4),
    ("wrong password", 4),
    ("right password while locked", 4),
    ("wrong password while locked", 4),
    ("failed_logins", 3),  # nothing counts while locked
    ("locked in user list", True),
    ("earlier token while locked", 0),
    ("locked after unlock", False),
    ("login after unlock", 0),
    ("wrong current password in auth passwd", 4),
    ("failed_logins after it", 1),
    ("right current password in auth passwd", 0),
    ("failed_logins after that", 0),
    ("SMTP password in policy show", False),
    ("alerts deliver without a session", 0),
    ("token with a key the caller chose", 4),
    ("token after disable", 4),
    ("login while disabled", 4),
]


def _listed(cli: Cli) -> dict[str, Any]:
    listed: dict[str, dict[str, Any]] = {
        u["email"]: u for u in cli.ok("user", "list", "-o", "json").json()
    }
    return listed[USER]


def test_sqlite_and_postgres_reach_the_same_outcomes(cli: Cli, db_url: str) -> None:
    register(cli, USER, "viewer")
    smtp_url = "smtp://alerts:smtp-Secret-pw-4711@mail.example.com:587"
    set_policy(cli, {"lockout_threshold": "3", "token_lifetime": "1h", "smtp_url": smtp_url})
    hostile = {"ASSETCTL_LOCKOUT_THRESHOLD": "100", "ASSETCTL_LOCKOUT_WINDOW": "1s",
               "ASSETCTL_TOKEN_LIFETIME": "3650d"}  # fmt: skip
    outcomes: list[tuple[str, int]] = []
    outcomes.append(("login despite hostile env", login(cli, USER, hostile).exit_code))
    token = token_for(Cli({**cli.env, **hostile}), USER)
    claims = claims_of(token)
    outcomes.append(("token lifetime", claims["exp"] - claims["iat"]))
    for _ in range(3):
        outcomes.append(("wrong password", login(cli, USER, hostile, password=WRONG).exit_code))
    outcomes.append(("right password while locked", login(cli, USER, hostile).exit_code))
    wrong_again = login(cli, USER, hostile, password=WRONG).exit_code
    outcomes.append(("wrong password while locked", wrong_again))
    outcomes.append(("failed_logins", _counters(db_url)["failed_logins"]))
    outcomes.append(("locked in user list", _listed(cli)["locked"]))
    outcomes.append(("earlier token while locked", as_user(cli, token)("auth", "whoami").exit_code))
    outcomes.append(
        ("locked after unlock", cli.ok("user", "unlock", USER, "-o", "json").json()["locked"])
    )
    outcomes.append(("login after unlock", login(cli, USER, hostile).exit_code))
    own = as_user(cli, token_for(cli, USER))
    typed = f"{WRONG}\nanother long passphrase\n"
    changed = own("auth", "passwd", "--password-stdin", input=typed).exit_code
    outcomes.append(("wrong current password in auth passwd", changed))
    outcomes.append(("failed_logins after it", _counters(db_url)["failed_logins"]))
    typed = f"{PASSWORD}\nanother long passphrase\n"
    changed = own("auth", "passwd", "--password-stdin", input=typed).exit_code
    outcomes.append(("right current password in auth passwd", changed))
    outcomes.append(("failed_logins after that", _counters(db_url)["failed_logins"]))
    token = token_for(cli, USER, "another long passphrase")
    shown = cli.ok("policy", "show").stdout
    outcomes.append(("SMTP password in policy show", "smtp-Secret-pw-4711" in shown))
    no_session = as_user(cli, "")("alerts", "deliver")
    outcomes.append(("alerts deliver without a session", no_session.exit_code))
    forged = forge("k" * 48, claims)
    outcomes.append(
        ("token with a key the caller chose", as_user(cli, forged)("auth", "whoami").exit_code)
    )
    cli.ok("user", "disable", USER)
    outcomes.append(("token after disable", as_user(cli, token)("auth", "whoami").exit_code))
    disabled = login(cli, USER, hostile, password="another long passphrase")
    outcomes.append(("login while disabled", disabled.exit_code))
    assert outcomes == PARITY


@pytest.mark.postgres
def test_malformed_proofs_and_long_emails_get_the_one_refusal_and_count(team: Team) -> None:
    victim = add_member(team, "viewer")
    attacker = team.members["operator"]
    padded = victim.email.upper() + " " * 5000  # over-long, but it names the victim
    team.admin.ok("policy", "set", "lockout_threshold", "7")  # locks at the last one
    calls = [
        (victim.email, "d3Jvbmctd3Jvbmc"),  # well-formed, wrong
        (victim.email, ""),
        (victim.email, "!!!not base64!!!"),
        (victim.email, "a"),
        (victim.email, "A" * 100_000),
        (victim.email, None),
        (padded, "d3Jvbmctd3Jvbmc"),
    ]
    sql = "SELECT assetctl_login_attempt(%s, %s, 'login')"
    finish = "SELECT assetctl_login_finish(%s, 'jti', 60, NULL, NULL)"
    attempts = []
    with connect_as(team.database, attacker.login) as conn:
        for email, proof in calls:
            # Only an opaque attempt id, whatever the input.
            ((attempt,),) = rows(conn, sql, (email, proof))
            assert re.fullmatch("[0-9a-f-]{36}", attempt), (email[:40], proof)
            attempts.append(attempt)
        # An email of any length that names nobody: the same answer.
        ((attempt,),) = rows(conn, sql, ("x" * 100_000 + "@example.com", "AAAA"))
        attempts.append(attempt)
        conn.commit()
        # Committed: the finish refuses every one of them with the one answer.
        for attempt in attempts:
            assert rows(conn, finish, (attempt,)) == [(None,)]
        conn.commit()
    ((count, locked),) = team.sql_admin(
        "SELECT failed_logins, locked_until > now() FROM users WHERE id = %s", (victim.user_id,)
    )
    assert (count, locked) == (len(calls), True)
    team.admin.ok("user", "unlock", victim.email)
    team.admin.ok("policy", "set", "lockout_threshold", "5")
