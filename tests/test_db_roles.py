"""Issue 13: PostgreSQL enforces the roles. Every test connects as a real login (psycopg2)
or runs the installed CLI over one, and tries what that login must not be able to do."""

from __future__ import annotations

import json

import pytest

from assetctl.core.auth import passwords
from assetctl.db.tables import metadata

from .conftest import ADMIN_EMAIL, add_args
from .role_fixtures import Team, connect_as, refused, rows, team

pytestmark = pytest.mark.postgres
__all__ = ["team"]  # the fixture, imported for pytest

TABLES = sorted([*metadata.tables, "alembic_version"])
AUDIT_TABLES = ("asset_events", "login_events", "security_alerts", "alert_deliveries")


def _first_column(conn: object, table: str) -> str:
    (column,) = rows(
        conn,
        # pg_attribute, not information_schema: a table the login may not read is listed too.
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum LIMIT 1",
        (table,),
    )[0]
    return str(column)


def _seed_asset(team: Team, tag: str) -> int:
    team.admin.ok(*add_args(tag))
    return int(team.sql_admin("SELECT id FROM assets WHERE tag = %s", (tag,))[0][0])


def test_viewer_cannot_write_any_table(team: Team) -> None:
    _seed_asset(team, "RV-1")
    with connect_as(team.database, team.members["viewer"].login) as conn:
        for table in TABLES:
            column = _first_column(conn, table)
            assert refused(conn, f"INSERT INTO {table} DEFAULT VALUES"), table
            assert refused(conn, f"UPDATE {table} SET {column} = {column}"), table
            assert refused(conn, f"DELETE FROM {table}"), table
            assert refused(conn, f"TRUNCATE {table}"), table
        # Reading is what a viewer is for.
        assert rows(conn, "SELECT tag FROM assets WHERE tag = 'RV-1'") == [("RV-1",)]


def test_every_client_login_cannot_rewrite_the_audit_trail(team: Team) -> None:
    _seed_asset(team, "AUD-1")
    for role, member in team.members.items():
        with connect_as(team.database, member.login) as conn:
            for table in AUDIT_TABLES:
                column = _first_column(conn, table)
                assert refused(conn, f"UPDATE {table} SET {column} = {column}"), (role, table)
                assert refused(conn, f"DELETE FROM {table}"), (role, table)
            # Nor forge history, nor write users or sessions directly.
            assert refused(
                conn,
                "INSERT INTO asset_events (asset_id, action, actor, at, changes) "
                "SELECT id, 'created', 'x', now(), '{}' FROM assets",
            ), role
            assert refused(conn, "UPDATE users SET role = 'admin'"), role
            assert refused(conn, "UPDATE users SET failed_logins = 99"), role
            assert refused(conn, "DELETE FROM sessions"), role


def test_operator_cannot_delete_restore_change_users_or_ack(team: Team) -> None:
    asset_id = _seed_asset(team, "OP-1")
    deleted_id = _seed_asset(team, "OP-2")
    team.admin.ok("asset", "delete", "OP-2", "--yes")
    alert_id = _insert_alert(team, team.members["operator"].user_id)
    operator = team.members["operator"]
    with connect_as(team.database, operator.login) as conn:
        assert refused(conn, "UPDATE assets SET deleted_at = now() WHERE id = %s", (asset_id,))
        assert refused(conn, "UPDATE assets SET deleted_at = NULL WHERE id = %s", (deleted_id,))
        assert refused(conn, "UPDATE users SET role = 'admin' WHERE id = %s", (operator.user_id,))
        assert refused(
            conn, "SELECT assetctl_set_user_role(%s, 'admin', now())", (operator.user_id,)
        )
        assert refused(conn, "SELECT assetctl_unlock_user(%s, now())", (operator.user_id,))
        assert refused(conn, "SELECT assetctl_ack_alert(%s, 'me', now())", (alert_id,))
        assert refused(conn, "UPDATE security_alerts SET acked_at = now()")
    # The CLI says the same (here the app refuses first, with the same exit code).
    cli = team.cli_for(operator)
    assert cli("asset", "delete", "OP-1", "--yes").exit_code == 5
    assert cli("alerts", "ack", str(alert_id)).exit_code == 5
    assert team.sql_admin("SELECT acked_at FROM security_alerts WHERE id = %s", (alert_id,)) == [
        (None,)
    ]


def test_plain_sql_update_lands_in_history_in_the_same_transaction(team: Team) -> None:
    asset_id = _seed_asset(team, "SQL-1")
    operator = team.members["operator"]
    with connect_as(team.database, operator.login) as conn:
        with conn.cursor() as cursor:
            cursor.execute(
                "UPDATE assets SET location = 'Basement', purchase_cost_cents = 129950 "
                "WHERE id = %s",
                (asset_id,),
            )
            cursor.execute(
                "SELECT action, actor, db_user, changes FROM asset_events WHERE asset_id = %s "
                "ORDER BY id DESC LIMIT 1",
                (asset_id,),
            )
            action, actor, db_user, changes = cursor.fetchone()
        assert (action, actor, db_user) == ("updated", operator.login, operator.login)
        assert changes == {
            "location": {"old": None, "new": "Basement"},
            "purchase_cost": {"old": None, "new": "1299.50"},
        }
        conn.rollback()  # the change and its event go together
    events = team.sql_admin("SELECT count(*) FROM asset_events WHERE asset_id = %s", (asset_id,))
    assert events == [(1,)]  # only "created"


def test_viewer_and_operator_see_only_their_own_logins_and_alerts(team: Team) -> None:
    ids = {role: member.user_id for role, member in team.members.items()}
    for user_id in ids.values():
        _insert_alert(team, user_id)
    for role in ("viewer", "operator"):
        member = team.members[role]
        with connect_as(team.database, member.login) as conn:
            seen = {r[0] for r in rows(conn, "SELECT user_id FROM login_events")}
            assert seen == {member.user_id}, role  # its own login is there, nobody else's
            alerts = {r[0] for r in rows(conn, "SELECT user_id FROM security_alerts")}
            assert alerts == {member.user_id}, role
            # Session rows are read by no client at all (issue 14: verify_token checks them).
            assert refused(conn, "SELECT user_id FROM sessions"), role
    with connect_as(team.database, team.members["admin"].login) as conn:
        alerts = {r[0] for r in rows(conn, "SELECT user_id FROM security_alerts")}
        assert set(ids.values()) <= alerts
    # Through the CLI too: another user's history is refused by the app, and the own one
    # holds only the own events.
    viewer = team.cli_for(team.members["viewer"])
    mine = viewer.ok("auth", "history", "-o", "json").json()
    assert mine and {e["email"] for e in mine} == {team.members["viewer"].email}
    other = viewer("auth", "history", "--user", team.members["operator"].email)
    assert other.exit_code == 5


def test_a_login_cannot_act_for_another_user(team: Team) -> None:
    """The writes of a login go through functions that check whom the login acts for."""
    viewer, admin = team.members["viewer"], team.members["admin"]
    with connect_as(team.database, viewer.login) as conn:
        assert refused(
            conn,
            "SELECT assetctl_login_succeeded(%s, 'forged', 3600, NULL, NULL)",
            (admin.user_id,),
        )
        assert refused(conn, "SELECT assetctl_revoke_sessions(%s, now())", (admin.user_id,))
        # The admin's own password-change attempt, made over the admin's login, is no use
        # to the viewer's: neither to change the password nor to add the event's details.
    with connect_as(team.database, admin.login) as conn:
        ((attempt,),) = rows(
            conn, "SELECT assetctl_login_attempt(%s, 'AAAA', 'password')", (admin.email,)
        )
        ((login_attempt,),) = rows(
            conn, "SELECT assetctl_login_attempt(%s, 'AAAA', 'login')", (admin.email,)
        )
        conn.commit()
    with connect_as(team.database, viewer.login) as conn:
        sql = "SELECT assetctl_set_password(%s, %s, now())"
        assert rows(conn, sql, (attempt, passwords.relief_hash("x" * 20))) == [(False,)]
        args = [login_attempt, "203.0.113.9", "echo", "[]"] + [None] * 9
        placeholders = ", ".join(["%s"] * len(args))
        assert refused(conn, f"SELECT assetctl_login_details({placeholders})", args)
    team.admin.ok("user", "unlock", admin.email)


def test_cli_end_to_end_for_each_role(team: Team) -> None:
    viewer = team.cli_for(team.members["viewer"])
    operator = team.cli_for(team.members["operator"])
    admin = team.cli_for(team.members["admin"])
    assert viewer.sub("asset", "list").exit_code == 0
    denied = viewer.sub(*add_args("E2E-V"))
    assert denied.exit_code == 5 and "Traceback" not in denied.stderr
    created = operator.sub(*add_args("E2E-1"), "-o", "json")
    assert created.exit_code == 0, created.stderr
    assert operator.sub("asset", "update", "E2E-1", "--location", "Lab").exit_code == 0
    assert admin.sub("asset", "delete", "E2E-1", "--yes").exit_code == 0
    assert admin.sub("asset", "restore", "E2E-1").exit_code == 0
    history = viewer.sub("asset", "history", "E2E-1", "-o", "json")
    events = json.loads(history.stdout)
    assert [e["action"] for e in events] == ["created", "updated", "deleted", "restored"]
    actors = [e["actor"] for e in events]
    assert actors == [team.members[r].email for r in ("operator", "operator", "admin", "admin")]
    db_users = team.sql_admin(
        "SELECT db_user FROM asset_events e JOIN assets a ON a.id = e.asset_id "
        "WHERE a.tag = 'E2E-1' ORDER BY e.id"
    )
    logins = [team.members[r].login for r in ("operator", "operator", "admin", "admin")]
    assert [r[0] for r in db_users] == logins
    assert viewer.sub("auth", "whoami").exit_code == 0
    assert admin.sub("user", "list").exit_code == 0


def test_a_database_refusal_is_exit_5_with_one_sentence(team: Team) -> None:
    """A login whose group role a DBA changed by hand: the app allows the write, PostgreSQL
    refuses it, and the CLI says so in one sentence."""
    from .role_fixtures import add_member

    member = add_member(team, "operator", "stale@example.com")
    prefix = team.sql_admin("SELECT value FROM app_meta WHERE key = 'db_role_prefix'")[0][0]
    team.sql_admin(f'REVOKE "{prefix}_operator" FROM "{member.login}"')
    team.sql_admin(f'GRANT "{prefix}_viewer" TO "{member.login}"')
    before = team.sql_admin("SELECT count(*) FROM assets")
    result = team.cli_for(member).sub(*add_args("REF-1"))
    assert result.exit_code == 5, result.stderr
    assert "the database refused: your login may not insert into assets" in result.stderr
    assert "Traceback" not in result.stderr and "INSERT" not in result.stderr
    assert team.sql_admin("SELECT count(*) FROM assets") == before
    as_json = team.cli_for(member).sub(*add_args("REF-1"), "-o", "json")
    assert json.loads(as_json.stderr.strip().splitlines()[-1])["error"]["code"] == 5


def test_set_role_and_disable_keep_the_database_role_in_step(team: Team) -> None:
    from .role_fixtures import add_member

    member = add_member(team, "viewer", "promoted@example.com")
    prefix = team.sql_admin("SELECT value FROM app_meta WHERE key = 'db_role_prefix'")[0][0]

    def groups() -> set[str]:
        held = team.sql_admin(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
            (member.login,),
        )
        return {r[0] for r in held}

    assert groups() == {f"{prefix}_viewer"}
    team.cli_for(team.members["admin"]).ok("user", "set-role", member.email, "operator")
    assert groups() == {f"{prefix}_operator"}
    team.cli_for(team.members["admin"]).ok("user", "disable", member.email)
    assert groups() == set()
    team.cli_for(team.members["admin"]).ok("user", "enable", member.email)
    assert groups() == {f"{prefix}_operator"}


def _insert_alert(team: Team, user_id: int) -> int:
    (row,) = team.sql_admin(
        "INSERT INTO security_alerts (user_id, kind, severity, location, details, at) "
        "VALUES (%s, 'new_ip', 'warning', '203.0.113.9', '{}', now()) RETURNING id",
        (user_id,),
    )
    return int(row[0])


def test_functions_are_definers_with_a_fixed_path_and_no_public_execute(team: Team) -> None:
    from assetctl.db.pg_functions import functions
    from assetctl.db.roles import RoleNames

    from .conftest import ROLE_PREFIX

    names = RoleNames(ROLE_PREFIX)
    for function in functions(names):
        ((definer, config, owner, acl),) = team.sql_admin(
            "SELECT p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner), p.proacl::text[] "
            "FROM pg_proc p WHERE p.proname = %s",
            (function.name,),
        )
        assert definer and owner == names.owner, function.name
        assert any(c.startswith("search_path=pg_catalog,") for c in config), function.name
        grantees = {entry.split("=", 1)[0] for entry in acl}
        assert "" not in grantees, function.name  # no EXECUTE for PUBLIC
        allowed = {names.owner, *(names.group(role) for role in function.groups)}
        assert grantees == allowed, function.name


def test_a_client_cannot_lock_an_account_for_decades(team: Team) -> None:
    """The failed-login function counts like a failed login, under the database's policy
    (issue 14: the caller no longer passes threshold or duration)."""
    victim = team.members["admin"]
    with connect_as(team.database, team.members["viewer"].login) as conn:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT assetctl_login_attempt(%s, 'd3Jvbmctd3Jvbmc', 'login')", (victim.email,)
        )
        # The caller cannot even read the counters it just moved (issue 14).
        assert refused(conn, "SELECT failed_logins, locked_until FROM users")
        conn.commit()
    counters = "SELECT failed_logins, locked_until FROM users WHERE id = %s"
    assert team.sql_admin(counters, (victim.user_id,)) == [(1, None)]
    team.admin.ok("user", "unlock", victim.email)
    assert team.sql_admin(counters, (victim.user_id,)) == [(0, None)]


def test_plain_sql_leaves_a_trace_even_when_it_names_another_actor(team: Team) -> None:
    """The app actor is only what a client claims; the database login is always recorded,
    and a change to bookkeeping columns alone is history too."""
    asset_id = _seed_asset(team, "SQL-2")
    operator = team.members["operator"]
    with connect_as(team.database, operator.login) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT set_config('assetctl.actor', 'someone-else@example.com', true)")
        cursor.execute("UPDATE assets SET created_by = 'nobody' WHERE id = %s", (asset_id,))
        conn.commit()
    (event,) = team.sql_admin(
        "SELECT actor, db_user, changes FROM asset_events WHERE asset_id = %s "
        "ORDER BY id DESC LIMIT 1",
        (asset_id,),
    )
    assert event[:2] == ("someone-else@example.com", operator.login)
    assert event[2] == {"created_by": {"old": ADMIN_EMAIL, "new": "nobody"}}


def test_pending_deliveries_are_closed_only_by_an_admin_of_another_user(team: Team) -> None:
    """Issue 14: the user an alert is about may not claim or close its delivery (an intruder
    holding the password is that user), nor may another non-admin; an admin may."""
    viewer, operator, admin = (team.members[r] for r in ("viewer", "operator", "admin"))
    alert_id = _insert_alert(team, viewer.user_id)
    ((delivery_id, seen),) = team.sql_admin(
        "INSERT INTO alert_deliveries (alert_id, channel, status, attempts, created_at, "
        "next_attempt_at) VALUES (%s, 'log', 'pending', 0, now(), now()) "
        "RETURNING id, next_attempt_at",
        (alert_id,),
    )
    claim = "SELECT assetctl_claim_delivery(%s, %s, now() + interval '1 minute')"
    close = "SELECT assetctl_delivery_outcome(%s, NULL, now(), now())"
    for member in (operator, viewer):
        with connect_as(team.database, member.login) as conn:
            assert refused(conn, claim, (delivery_id, seen)), member.role
            assert refused(conn, close, (delivery_id,)), member.role
            assert refused(conn, "UPDATE alert_deliveries SET status = 'delivered'")
    with connect_as(team.database, operator.login) as conn:
        assert rows(conn, "SELECT id FROM alert_deliveries WHERE id = %s", (delivery_id,)) == []
    with connect_as(team.database, admin.login) as conn:
        assert rows(conn, claim, (delivery_id, seen)) == [(True,)]
        assert rows(conn, close, (delivery_id,)) == [(True,)]
        status = rows(
            conn, "SELECT status, attempts FROM alert_deliveries WHERE id = %s", (delivery_id,)
        )
        assert status == [("delivered", 1)]


def test_no_client_login_reads_password_hashes(team: Team) -> None:
    """No login reads a hash, not even its own user's (issue 14: server relief); the
    column itself is not readable."""
    for member in team.members.values():
        with connect_as(team.database, member.login) as conn:
            assert refused(conn, "SELECT password_hash FROM users")
            assert refused(conn, "SELECT * FROM users")
            assert rows(conn, "SELECT count(email) FROM users")[0][0] >= 3
            assert refused(conn, "SELECT assetctl_relief_settings('x')")
            settings = rows(conn, "SELECT assetctl_login_salt(%s)", (member.email,))[0][0]
            assert "$" in settings and "relief" not in settings
