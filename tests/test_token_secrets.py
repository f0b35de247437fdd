"""Issue 14, part 2: no client login can read the signing key, a token works only over the
database login it was opened over, and a key the caller chooses verifies nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import jwt
import pytest

from .auth_helpers import as_user, claims_of, db_secret, forge, token_for
from .conftest import Cli, _service_missing
from .role_fixtures import Member, Team, connect_as, rows, team

pytestmark = pytest.mark.postgres
__all__ = ["team"]  # the fixture, imported for pytest

MIN_KEY = 32


def _strings(value: Any) -> Iterator[str]:
    """Every string in a value, also inside JSON documents and arrays."""
    if isinstance(value, str):
        yield value
        try:
            inner = json.loads(value)
        except ValueError:
            return
        if not isinstance(inner, str):
            yield from _strings(inner)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, bytes | memoryview):
        yield bytes(value).decode("utf-8", "replace")


def _readable_selects(conn: Any) -> list[str]:
    """A SELECT of every column the login may read, per relation: whole tables, and the
    granted columns of a table it may read only in part (such as `users`)."""
    found: dict[str, list[str]] = {}
    for schema, name, column in rows(
        conn,
        "SELECT n.nspname, c.relname, a.attname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relkind IN ('r', 'v', 'm', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
        "AND has_column_privilege(c.oid, a.attnum, 'SELECT') ORDER BY c.oid, a.attnum",
    ):
        found.setdefault(f'"{schema}"."{name}"', []).append(f'"{column}"')
    return [f"SELECT {', '.join(columns)} FROM {name}" for name, columns in found.items()]


# Catalog text a login can read besides table rows: function bodies, comments, column
# defaults, settings, and what the helper functions it may call hand out.
CATALOG = (
    "SELECT prosrc FROM pg_proc",
    "SELECT description FROM pg_description",
    "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef",
    "SELECT setting FROM pg_settings",
    "SELECT reset_val FROM pg_settings",
    "SELECT assetctl_database_id()",
    "SELECT assetctl_alert_channels()",
)


def _everything_readable(database: str, member: Member) -> list[Any]:
    """Every value `member`'s login can SELECT (tables, views, catalog text)."""
    found: list[Any] = []
    with connect_as(database, member.login) as conn:
        for sql in [*_readable_selects(conn), *CATALOG]:
            for row in rows(conn, sql):
                found.extend(row)
        # The cache probe hands an authenticated login the key its entries are signed
        # with: derived from the signing key, never the key itself.
        probe = rows(conn, "SELECT * FROM assetctl_cache_probe(%s)", (member.token,))
        assert probe[0][0] is None and len(probe[0][5]) == 64
        found.extend(probe[0])
    return found


def _verifies(token: str, key: str) -> bool:
    try:
        jwt.decode(token, key, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.InvalidTokenError:
        return False
    return True


SMTP_PASSWORD = "smtp-Secret-pw-4711"
HOOK_TOKEN = "hook-Secret-token-0815"
# A failure count no real lockout reaches, so finding it anywhere means the counter leaked.
COUNT = 987_654


def _plant_secrets(team: Team) -> dict[str, Any]:
    """Make every secret the scan looks for real: channel credentials in the policy, lockout
    counters set (one account locked), sessions open. Returns what must not be found."""
    from .role_fixtures import add_member

    team.admin.ok("policy", "set", "smtp_url", f"smtp://alerts:{SMTP_PASSWORD}@mail.example.com")
    team.admin.ok("policy", "set", "alert_webhook_url", f"https://hooks.example.com/{HOOK_TOKEN}")
    locked = add_member(team, "viewer")
    for member in [*team.members.values(), locked]:  # one real failure each
        with connect_as(team.database, member.login) as conn:
            rows(conn, "SELECT assetctl_login_attempt(%s, 'd3Jvbmctd3Jvbmc', 'login')",
                 (member.email,))  # fmt: skip
            conn.commit()
    team.sql_admin(
        "UPDATE users SET failed_logins = %s, locked_until = now() + interval '1 day' "
        "WHERE id = %s",
        (COUNT, locked.user_id),
    )
    ids = [m.user_id for m in [*team.members.values(), locked]]
    # A window start no attempt had: the time of each failed attempt is in the login history
    # by design (the database records every attempt), the counter's own value is not.
    team.sql_admin(
        "UPDATE users SET first_failed_at = '2001-02-03 04:05:06.789+00' WHERE id = ANY(%s)",
        (ids,),
    )
    counters = team.sql_admin(
        "SELECT first_failed_at, locked_until FROM users WHERE id = ANY(%s)", (ids,)
    )
    assert len(counters) == len(ids) and all(first is not None for first, _ in counters)
    hashes = [h for (h,) in team.sql_admin("SELECT password_hash FROM users")]
    return {
        "texts": [SMTP_PASSWORD, HOOK_TOKEN, *hashes, *(h.rsplit("$", 1)[1] for h in hashes)],
        "times": {t for row in counters for t in row if t is not None},
        "sessions": team.sql_admin("SELECT count(*) FROM sessions")[0][0],
        "locked": locked,
    }


def test_no_value_any_client_login_can_read_verifies_a_real_token(team: Team) -> None:
    """Nor is any password hash or verifier, lockout counter, channel credential or session
    row among what a client login can read (issue 14)."""
    real_key = db_secret(team.url)  # as the superuser: the owner's view
    planted = _plant_secrets(team)
    assert planted["sessions"] >= len(team.members)
    for role, member in team.members.items():
        assert _verifies(member.token, real_key)  # the test would notice a leak
        values = _everything_readable(team.database, member)
        texts = list(_strings(values))
        candidates = {s for s in texts if len(s) >= MIN_KEY}
        assert len(candidates) > 20, role  # it really read the catalog and the tables
        assert real_key not in candidates, role
        leaked = [c for c in candidates if _verifies(member.token, c)]
        assert leaked == [], role
        everything = "\n".join(texts)
        assert [t for t in planted["texts"] if t in everything] == [], role
        assert COUNT not in values and str(COUNT) not in everything, role
        assert planted["times"].isdisjoint(v for v in values if isinstance(v, datetime)), role
        # Neither can the login read the key row or a session row, nor call the signing
        # helpers or the owner's policy reader.
        with connect_as(team.database, member.login) as conn:
            assert rows(conn, "SELECT value FROM app_meta WHERE key = 'jwt_secret'") == []
            assert not any(rows(conn, "SELECT has_any_column_privilege('sessions', 'SELECT')")[0])
            for call in (
                "SELECT assetctl_signature('x.y')",
                "SELECT assetctl_hmac_sha256('k', 'm')",
                "SELECT assetctl_policy('smtp_url')",
                "SELECT jti FROM sessions",
                "SELECT failed_logins FROM users",
            ):
                with pytest.raises(Exception, match="permission denied"):
                    rows(conn, call)
                conn.rollback()
    team.admin.ok("user", "unlock", planted["locked"].email)
    for key in ("smtp_url", "alert_webhook_url"):
        team.admin.ok("policy", "set", key, "")


def test_a_token_works_only_over_the_login_it_was_opened_over(team: Team) -> None:
    viewer, operator = team.members["viewer"], team.members["operator"]
    over_operator = team.cli_for(operator)
    borrowed = Cli({**over_operator.env, "ASSETCTL_TOKEN": viewer.token})
    result = borrowed("asset", "list")
    assert result.exit_code == 4, result.stderr
    assert "another database login" in result.stderr
    # Also over the superuser's connection, and through the installed entry point.
    as_dba = Cli({**team.admin.env, "ASSETCTL_TOKEN": viewer.token})
    assert as_dba.sub("asset", "list").exit_code == 4
    assert team.cli_for(viewer).ok("auth", "whoami").exit_code == 0


def test_a_key_the_caller_chooses_verifies_nothing(team: Team) -> None:
    viewer = team.members["viewer"]
    own = team.cli_for(viewer)
    chosen = "c" * 48
    forged = forge(chosen, claims_of(viewer.token))
    assert own("asset", "list", env={"ASSETCTL_TOKEN": forged}).exit_code == 4
    # ASSETCTL_JWT_SECRET plays no part on PostgreSQL: neither for verifying ...
    with_secret = {"ASSETCTL_TOKEN": forged, "ASSETCTL_JWT_SECRET": chosen}
    refused = own.sub("asset", "list", env=with_secret)
    assert refused.exit_code == 4 and "not valid" in refused.stderr
    # ... nor for a session id someone learned (admins see jtis in `auth history`).
    admin = team.members["admin"]
    admin_claims = claims_of(admin.token)
    stolen = forge(chosen, admin_claims)
    over_admin = team.cli_for(admin)
    assert over_admin("user", "list", env={**with_secret, "ASSETCTL_TOKEN": stolen}).exit_code == 4
    # ... nor for signing: a login with the variable set still gets the database's token.
    fresh = own.ok("auth", "whoami", env={"ASSETCTL_JWT_SECRET": chosen})
    assert viewer.email in fresh.stdout


def test_the_lockout_counts_every_one_of_8_racing_processes(team: Team) -> None:
    """8 processes call the login function directly (no CLI) with wrong proofs at the same
    time: no failure is lost and the account locks at the database's threshold."""
    import subprocess
    import sys

    from .role_fixtures import add_member

    victim = add_member(team, "viewer")
    attacker = team.members["operator"]
    team.admin.ok("policy", "set", "lockout_threshold", "40")
    # Each process: its own connection as the attacker's login, 5 calls in autocommit.
    script = (
        "import sys, psycopg2; c = psycopg2.connect(host='127.0.0.1', user=sys.argv[1], "
        "dbname=sys.argv[2]); c.autocommit = True; cur = c.cursor(); "
        "[cur.execute('SELECT assetctl_login_attempt(%s, %s, %s)', "
        "(sys.argv[3], 'd3Jvbmctd3Jvbmc', 'login')) "
        "for _ in range(5)]"
    )
    command = [sys.executable, "-c", script, attacker.login, team.database, victim.email]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    ((count, locked),) = team.sql_admin(
        "SELECT failed_logins, locked_until > now() FROM users WHERE id = %s", (victim.user_id,)
    )
    assert (count, locked) == (40, True)
    team.admin.ok("policy", "set", "lockout_threshold", "5")


def test_a_cache_hit_never_serves_a_token_the_database_refuses_now(team: Team) -> None:
    """A session check cached in Redis for the viewer's login answers neither over another
    login nor after a disable: each is refused (exit 4)."""
    from .role_fixtures import add_member
    from .test_cache import REDIS_URL, _redis_up

    if not _redis_up(REDIS_URL):
        _service_missing("Redis", f"{REDIS_URL} does not answer PING")
    viewer = add_member(team, "viewer")
    # One URL without a user for both: libpq takes the login from PGUSER, so only the
    # login tells the two callers apart (the cache must not mistake one for the other).
    url = f"postgresql+psycopg2://127.0.0.1:5432/{team.database}"
    redis_env = {"ASSETCTL_REDIS_URL": REDIS_URL, "ASSETCTL_DATABASE_URL": url}
    own = Cli({**team.cli_for(viewer).env, **redis_env, "PGUSER": viewer.login})
    for _ in range(2):  # a miss that stores the check, then a hit
        own.ok("asset", "list")
    stats = own.ok("cache", "stats", "-o", "json").json()
    assert int(stats["hits"]) >= 1
    operator = team.members["operator"]
    borrowed = Cli({**own.env, "PGUSER": operator.login})
    refused = borrowed("asset", "list")
    assert refused.exit_code == 4 and "another database login" in refused.stderr
    # The admin's CLI shares the deployment's Redis, so its disable ends the cached check.
    admin = Cli({**team.admin.env, "ASSETCTL_REDIS_URL": REDIS_URL})
    admin.ok("user", "disable", viewer.email)
    disabled = own("asset", "list")  # no hit: the database refuses the login itself now
    assert disabled.exit_code == 5 and "holds no assetctl group role" in disabled.stderr
    admin.ok("user", "enable", viewer.email)
    assert own("asset", "list").exit_code == 4  # disabling ended every session for good


def test_setting_a_password_needs_a_committed_check_of_the_current_one(team: Team) -> None:
    from assetctl.core.auth import passwords

    from .auth_helpers import PASSWORD
    from .role_fixtures import add_member

    member = add_member(team, "viewer")
    new = passwords.relief_hash("another long passphrase")
    check = "SELECT assetctl_login_attempt(%s, %s, 'password')"
    change = "SELECT assetctl_set_password(%s, %s, now())"
    counters = "SELECT failed_logins FROM users WHERE id = %s"
    with connect_as(team.database, member.login) as conn:
        settings = rows(conn, "SELECT assetctl_login_salt(%s)", (member.email,))[0][0]
        right = passwords.relief_proof(PASSWORD, settings)
        wrong = passwords.relief_proof("not the passphrase", settings)
        # In the transaction that made the check: refused whatever the proof, so a caller
        # cannot learn the outcome and roll the counted failure back.
        for proof in (wrong, right):
            ((attempt,),) = rows(conn, check, (member.email, proof))
            assert rows(conn, change, (attempt, new)) == [(False,)]
            conn.rollback()
        ((wrong_attempt,),) = rows(conn, check, (member.email, wrong))
        conn.commit()
        assert team.sql_admin(counters, (member.user_id,)) == [(1,)]  # counted, committed
        assert rows(conn, change, (wrong_attempt, new)) == [(False,)]
        ((attempt,),) = rows(conn, check, (member.email, right))
        conn.commit()
        assert rows(conn, change, (attempt, "$argon2id$plain-hash")) == [(False,)]
        assert rows(conn, change, (attempt, new)) == [(True,)]
        assert rows(conn, change, (attempt, new)) == [(False,)]  # used once
        conn.commit()
    assert team.sql_admin(counters, (member.user_id,)) == [(0,)]  # the success undid it
    # Through the CLI the check is made from the current password, and a wrong one counts
    # like a wrong login (the change above ended the old session: log in again).
    own = team.cli_for(member)
    own = as_user(own, token_for(own, member.email, "another long passphrase"))
    typed = f"{PASSWORD}\nyet another passphrase\n"
    result = own.sub("auth", "passwd", "--password-stdin", input=typed)
    assert result.exit_code == 4, result.stderr
    assert "current password is wrong" in result.stderr
    assert team.sql_admin(counters, (member.user_id,)) == [(1,)]
    typed = "another long passphrase\nyet another passphrase\n"
    assert own("auth", "passwd", "--password-stdin", input=typed).exit_code == 0
    assert team.sql_admin(counters, (member.user_id,)) == [(0,)]
    # Every committed check is on record, written by the database (no session: no jti).
    checks = team.sql_admin(
        "SELECT success, db_client_addr FROM login_events WHERE user_id = %s AND jti IS NULL "
        "ORDER BY id",
        (member.user_id,),
    )
    assert checks == [(False, "127.0.0.1"), (True, "127.0.0.1")] * 2
