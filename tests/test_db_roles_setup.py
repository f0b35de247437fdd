"""Issue 13: setting the roles up. `db upgrade` of a database made by the previous release,
by a non-superuser that owns it; the bad input of the issue (prefix, missing CREATEROLE,
add-login conflicts); doctor's verdict on each kind of connection; the SQLite file's mode."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .auth_helpers import PASSWORD
from .conftest import (
    NO_IP_LOOKUP,
    ROLE_PREFIX,
    Cli,
    _pg_admin,
    base_env,
    create_pg_database,
    drop_pg_database,
)
from .role_fixtures import Team, add_member, connect_as, login_url, new_login, rows, team

__all__ = ["team"]


def _roles_like(prefix: str) -> list[str]:
    conn = _pg_admin()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (prefix,))
        return sorted(r[0] for r in cursor.fetchall())
    finally:
        conn.close()


@pytest.fixture
def owned_db(pg_database: str) -> Iterator[tuple[str, str]]:
    """(database, login): an empty database owned by a new login without CREATEROLE."""
    del pg_database
    login = new_login("dba")
    name = create_pg_database()
    conn = _pg_admin()
    try:
        conn.cursor().execute(f'ALTER DATABASE "{name}" OWNER TO "{login}"')
    finally:
        conn.close()
    try:
        yield name, login
    finally:
        drop_pg_database(name)


def _tables(database: str, login: str) -> list[str]:
    with connect_as(database, login) as conn:
        return [
            r[0] for r in rows(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("prefix", "reason"),
    [("Bad-Prefix", "lower-case"), ("a" * 60, "at most 54"), ("pg_team", "reserved")],
)
def test_bad_role_prefix_is_exit_2_before_anything_exists(
    tmp_path: Path, owned_db: tuple[str, str], prefix: str, reason: str
) -> None:
    database, login = owned_db
    cli = Cli({**base_env(tmp_path, login_url(database, login)), "ASSETCTL_DB_ROLE_PREFIX": prefix})
    result = cli("db", "upgrade")
    assert result.exit_code == 2, result.stderr
    assert "db_role_prefix" in result.stderr.lower() and reason in result.stderr
    assert _tables(database, login) == []


@pytest.mark.postgres
def test_upgrade_without_createrole_is_exit_7_and_changes_nothing(
    tmp_path: Path, owned_db: tuple[str, str]
) -> None:
    database, login = owned_db
    prefix = f"{ROLE_PREFIX}n"
    env = {**base_env(tmp_path, login_url(database, login)), "ASSETCTL_DB_ROLE_PREFIX": prefix}
    result = Cli(env)("db", "upgrade")
    assert result.exit_code == 7, result.stderr
    assert "CREATEROLE" in result.stderr and login in result.stderr
    assert "assetctl db upgrade" in result.stderr  # what the owner or a superuser runs
    assert "Traceback" not in result.stderr
    assert _tables(database, login) == []
    assert _roles_like(f"{prefix}_") == []


def _seed_previous_release(database: str, login: str) -> tuple[str, int]:
    """What release 0004 left behind, written as that release wrote it: a user, a session
    with its token, an asset with its history. Returns (token, asset id)."""
    from assetctl.core.auth import passwords, tokens

    now = datetime.now(UTC).replace(microsecond=0)
    with connect_as(database, login) as conn:
        cursor = conn.cursor()
        cursor.execute(
            "INSERT INTO users (email, name, role, password_hash, active, created_at, updated_at,"
            " tokens_valid_after, failed_logins) VALUES ('old@example.com', 'Old', 'admin', %s,"
            " true, %s, %s, %s, 0) RETURNING id",
            (passwords.hash_password(PASSWORD), now, now, now),
        )
        (user_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO sessions (jti, user_id, created_at, expires_at) "
            "VALUES ('old-jti', %s, %s, %s + interval '1 hour')",
            (user_id, now, now),
        )
        cursor.execute("SELECT value FROM app_meta WHERE key = 'jwt_secret'")
        (secret,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO assets (tag, name, category, status, version, created_at, updated_at, "
            "created_by, updated_by) VALUES ('OLD-1', 'Old laptop', 'laptop', 'in_stock', 1, "
            "%s, %s, 'old@example.com', 'old@example.com') RETURNING id",
            (now, now),
        )
        (asset_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO asset_events (asset_id, action, actor, at, changes) VALUES "
            "(%s, 'created', 'old@example.com', %s, %s)",
            (asset_id, now, '{"tag": {"old": null, "new": "OLD-1"}}'),
        )
        conn.commit()
    token = tokens.issue(
        secret, user_id=user_id, role="admin", jti="old-jti", now=now, lifetime_s=3600
    )
    return token, int(asset_id)


@pytest.mark.postgres
def test_upgrade_of_a_previous_release_keeps_everything_and_locks_nobody_out(
    tmp_path: Path, owned_db: tuple[str, str]
) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from assetctl.db.migrate import alembic_config

    database, login = owned_db
    _pg_admin().cursor().execute(f'ALTER ROLE "{login}" CREATEROLE')  # a typical DB owner
    url = login_url(database, login)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0004_hostname")
            conn.commit()
    finally:
        engine.dispose()
    token, asset_id = _seed_previous_release(database, login)
    prefix = f"{ROLE_PREFIX}u"
    env = {**base_env(tmp_path, url), "ASSETCTL_DB_ROLE_PREFIX": prefix, **NO_IP_LOOKUP}
    Cli(env).ok("db", "upgrade")
    with connect_as(database, login) as conn:  # before anyone logs in again
        # The earlier release's Argon2id hash became a server-relief verifier (issue 14).
        assert rows(conn, "SELECT password_hash LIKE 'relief$%' FROM users") == [(True,)]
    assert _roles_like(f"{prefix}_") == [
        f"{prefix}_{s}" for s in ("admin", "operator", "owner", "viewer")
    ]

    # History and sessions are kept and the user can log in. The old token is refused:
    # every client could read the key that signed it, so the upgrade replaced the key.
    refused = Cli({**env, "ASSETCTL_TOKEN": token})("auth", "whoami")
    assert refused.exit_code == 4, refused.stderr
    fresh = Cli({**env, "ASSETCTL_AUTH_STORAGE": "file"})
    fresh.ok(
        "auth", "login", "--email", "old@example.com", "--password-stdin", input=PASSWORD + "\n"
    )
    old = Cli({**env, "ASSETCTL_TOKEN": fresh.ok("auth", "token").stdout.strip()})
    assert "old@example.com" in old.ok("auth", "whoami").stdout
    history = old.ok("asset", "history", "OLD-1", "-o", "json").json()
    assert [e["actor"] for e in history] == ["old@example.com"]
    # Writes keep working over the owner's login, and now leave database-written history.
    old.ok("asset", "update", "OLD-1", "--location", "Attic")
    with connect_as(database, login) as conn:
        events = rows(
            conn,
            "SELECT actor, db_user FROM asset_events WHERE asset_id = %s ORDER BY id",
            (asset_id,),
        )
        assert events == [("old@example.com", None), ("old@example.com", login)]
        assert rows(conn, "SELECT count(*) FROM sessions") == [(2,)]
    # The owner's login no longer needs CREATEROLE: it is in the owner role now.
    _pg_admin().cursor().execute(f'ALTER ROLE "{login}" NOCREATEROLE')
    assert "already" in Cli(env).ok("db", "upgrade").stderr
    doctor = old("doctor")
    assert "WARN roles" in doctor.stdout and "advisory" in doctor.stderr


@pytest.mark.postgres
def test_add_login_bad_input(team: Team) -> None:
    admin = team.cli_for(team.members["admin"])
    viewer = team.members["viewer"]
    # A login that holds another assetctl group role: 6, naming it, pointing at set-role.
    result = admin("user", "add-login", viewer.login, "--role", "operator", "--user", viewer.email)
    assert result.exit_code == 6, result.stderr
    assert f"{ROLE_PREFIX}_viewer" in result.stderr and "set-role" in result.stderr
    missing = f"{ROLE_PREFIX}missing"
    result = admin("user", "add-login", missing, "--role", "viewer", "--user", viewer.email)
    assert result.exit_code == 3 and missing in result.stderr
    result = admin("user", "add-login", 'x"y', "--role", "viewer", "--user", viewer.email)
    assert result.exit_code == 2
    result = admin("user", "add-login", viewer.login, "--role", "boss", "--user", viewer.email)
    assert result.exit_code == 2
    # Nothing changed: the viewer's login still holds exactly its one group role.
    assert "enforced" in team.cli_for(viewer).ok("doctor").stdout
    # Only an admin may bind logins (the app refuses; the database would too).
    operator = team.cli_for(team.members["operator"])
    login = new_login("o")
    assert (
        operator("user", "add-login", login, "--role", "viewer", "--user", viewer.email).exit_code
        == 5
    )


@pytest.mark.postgres
def test_doctor_flags_a_login_with_two_group_roles(team: Team) -> None:
    member = add_member(team, "viewer", "twice@example.com")
    team.sql_admin(f'GRANT "{ROLE_PREFIX}_operator" TO "{member.login}"')
    result = team.cli_for(member)("doctor")
    assert result.exit_code == 7
    line = next(line for line in result.stdout.splitlines() if " roles " in f" {line} ")
    assert line.startswith("FAIL") and "several" in line and "set-role" in line


@pytest.mark.postgres
def test_doctor_says_which_mode(team: Team) -> None:
    enforced = team.cli_for(team.members["operator"]).ok("doctor").stdout
    assert "PostgreSQL roles enforced" in enforced and "operator" in enforced
    advisory = team.admin.ok("doctor")  # the superuser connection
    assert "WARN roles" in advisory.stdout
    assert "roles advisory: connecting login" in advisory.stdout and "superuser" in advisory.stderr


def test_sqlite_file_is_created_private(bare_cli: Cli, tmp_path: Path) -> None:
    bare_cli.ok("init")
    path = tmp_path / "data" / "assetctl" / "assetctl.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    doctor = bare_cli.ok("doctor").stdout
    assert "SQLite single-user file" in doctor
    path.chmod(0o644)
    assert "chmod 600" in bare_cli.ok("doctor").stdout


@pytest.mark.postgres
def test_a_login_without_a_group_role_is_refused_and_doctor_says_why(team: Team) -> None:
    login = new_login("n")
    env = base_env(team.tmp / "nobody", login_url(team.database, login))
    cli = Cli({**env, "ASSETCTL_TOKEN": team.members["viewer"].token, **NO_IP_LOOKUP})
    result = cli("asset", "list")
    assert result.exit_code == 5
    assert "holds no assetctl group role" in result.stderr and "add-login" in result.stderr
    doctor = cli("doctor")
    assert doctor.exit_code == 7 and "holds no" in doctor.stdout


@pytest.mark.postgres
def test_logout_password_change_and_alert_ack_over_own_logins(team: Team) -> None:
    from .role_fixtures import add_member

    member = add_member(team, "viewer", "leaving@example.com")
    own = team.cli_for(member)
    own.ok("auth", "passwd", "--password-stdin", input=f"{PASSWORD}\n{PASSWORD}-new\n")
    assert own("auth", "whoami").exit_code == 4  # every session revoked by the change
    again = add_member(team, "viewer", "staying@example.com")
    team.cli_for(again).ok("auth", "logout")
    assert team.cli_for(again)("auth", "whoami").exit_code == 4
    (alert_id,) = team.sql_admin(
        "INSERT INTO security_alerts (user_id, kind, severity, location, details, at) "
        "VALUES (%s, 'new_ip', 'warning', '198.51.100.7', '{}', now()) RETURNING id",
        (again.user_id,),
    )[0]
    admin = team.cli_for(team.members["admin"])
    acked = admin.ok("alerts", "ack", str(alert_id), "-o", "json").json()
    assert acked["acked_by"] == team.members["admin"].email and acked["acked_at"]
