"""Issue 17 part 2, "Audits", on a team deployment: PostgreSQL itself holds each role to
what `assetctl audit` allows. Starting, scanning and closing are operator+ (a viewer writes no
table); everyone reads audits; the scan log, the found set and the expected set are append-
only for every client login; a scan always names the login that made it; a closed audit
cannot be changed or reopened. Each test connects as the role's own login (psycopg2) or runs
the installed CLI over it."""

from __future__ import annotations

import secrets

import pytest

from .conftest import add_args
from .role_fixtures import Team, connect_as, refused, rows, team

pytestmark = pytest.mark.postgres
__all__ = ["team"]  # the fixture, imported for pytest

APPEND_ONLY = ("audit_scans", "audit_found", "audit_expected")
_SCAN = (
    "INSERT INTO audit_scans (session_id, code, asset_id, result, scanned_at, scanned_by) "
    "VALUES (%s, 'X', NULL, 'unknown', now(), %s)"
)


def _audit(team: Team) -> tuple[int, str]:
    """An open audit of a location of its own with one asset, scanned once by the admin."""
    location, tag = f"Room {secrets.token_hex(3)}", f"RA-{secrets.token_hex(3)}"
    team.admin.ok(*add_args(tag, location=location))
    audit = int(team.admin.ok("audit", "start", "--location", location).stdout.strip())
    team.admin.ok("audit", "scan", str(audit), tag)
    return audit, tag


def test_viewer_reads_audits_and_writes_none(team: Team) -> None:
    audit, _ = _audit(team)
    with connect_as(team.database, team.members["viewer"].login) as conn:
        for table in ("audit_sessions", *APPEND_ONLY):
            assert rows(conn, f"SELECT count(*) FROM {table}")[0][0] >= 1, table
            assert refused(conn, f"DELETE FROM {table}"), table
        assert refused(conn, _SCAN, (audit, "viewer@example.com"))
        assert refused(
            conn,
            "INSERT INTO audit_sessions (location, status, started_at, started_by) "
            "VALUES ('x', 'open', now(), 'v')",
        )
        assert refused(conn, "UPDATE audit_sessions SET status = 'closed'")
    viewer = team.cli_for(team.members["viewer"])
    for args in (("start", "--location", "x"), ("scan", str(audit), "A"), ("close", str(audit))):
        result = viewer("audit", *args)
        assert result.exit_code == 5, (args, result.stderr)
    assert viewer.ok("audit", "status", str(audit), "-o", "json").json()["audit"]["found"] == 1
    assert viewer.ok("audit", "list", "-o", "json").json()


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_writers_append_but_never_rewrite(team: Team, role: str) -> None:
    audit, _ = _audit(team)
    member = team.members[role]
    with connect_as(team.database, member.login) as conn:
        with conn.cursor() as cursor:  # allowed (refused() would roll it back)
            cursor.execute(_SCAN + " RETURNING db_user", (audit, member.email))
            (db_user,) = cursor.fetchone()
        # The database names the login that inserted the scan, and nobody may say otherwise.
        assert db_user == member.login
        assert refused(
            conn,
            "INSERT INTO audit_scans (session_id, code, result, scanned_at, scanned_by, db_user)"
            " VALUES (%s, 'X', 'unknown', now(), 'x', 'postgres')",
            (audit,),
        )
        for table in APPEND_ONLY:
            assert refused(conn, f"UPDATE {table} SET session_id = session_id"), table
            assert refused(conn, f"DELETE FROM {table}"), table
            assert refused(conn, f"TRUNCATE {table}"), table
        assert refused(conn, "DELETE FROM audit_sessions")
        assert refused(conn, "UPDATE audit_sessions SET location = 'elsewhere'")
        assert refused(conn, "UPDATE audit_sessions SET started_by = 'someone'")


def test_operator_runs_an_audit_over_its_own_login(team: Team) -> None:
    operator = team.members["operator"]
    cli = team.cli_for(operator)
    location, tag = f"Hall {secrets.token_hex(3)}", f"RO-{secrets.token_hex(3)}"
    team.admin.ok(*add_args(tag, location=location))
    audit = cli.ok("audit", "start", "--location", location).stdout.strip()
    cli.ok("audit", "scan", audit, tag, "NOPE")
    closed = cli.ok("audit", "close", audit, "-o", "json").json()
    assert (closed["audited"], closed["closed_by"]) == (1, operator.email)
    scans = team.sql_admin(
        "SELECT scanned_by, db_user FROM audit_scans WHERE session_id = %s", (int(audit),)
    )
    assert scans == [(operator.email, operator.login)] * 2
    shown = cli.ok("asset", "show", tag, "-o", "json").json()
    assert shown["audited_by"] == operator.email
    # The history trigger recorded the new fields, with the operator's login.
    (event,) = team.sql_admin(
        "SELECT e.action, e.actor, e.db_user, e.changes::text FROM asset_events e "
        "JOIN assets a ON a.id = e.asset_id WHERE a.tag = %s AND e.action = 'audited'",
        (tag,),
    )
    assert event[:3] == ("audited", operator.email, operator.login)
    assert '"audited_by"' in event[3] and '"last_audited_at"' in event[3]


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_a_closed_audit_cannot_be_reopened_or_changed(team: Team, role: str) -> None:
    audit, _ = _audit(team)
    team.admin.ok("audit", "close", str(audit))
    with connect_as(team.database, team.members[role].login) as conn:
        for change in ("status = 'open'", "closed_by = 'x'", "outcome = NULL"):
            assert refused(conn, f"UPDATE audit_sessions SET {change} WHERE id = %s", (audit,))
    result = team.cli_for(team.members[role])("audit", "scan", str(audit), "X")
    assert result.exit_code == 6
