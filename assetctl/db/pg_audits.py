"""A closed audit is final on PostgreSQL: a row trigger refuses every change to a closed
`audit_sessions` row, whoever makes it (a client's plain SQL could otherwise reopen an audit
and apply it twice, or rewrite who closed it). Column grants (`db/grants.py`) already keep
clients to the closing columns of an open audit; the scan log, found and expected sets have
no UPDATE or DELETE grant at all. (Re)created by `db upgrade`'s security step."""

from __future__ import annotations

from assetctl.db.roles import quote

GUARD_FUNCTION = "assetctl_audit_closed_guard"
_TRIGGER = "audit_sessions_closed_guard"


def function_sql(schema: str) -> str:
    path = f"pg_catalog, {quote(schema)}, pg_temp"
    return f"""
CREATE OR REPLACE FUNCTION {GUARD_FUNCTION}() RETURNS trigger
LANGUAGE plpgsql SET search_path = {path} AS $fn$
BEGIN
  IF OLD.status = 'closed' THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'a closed audit cannot be changed';
  END IF;
  RETURN NEW;
END
$fn$"""


def trigger_sql() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {_TRIGGER} ON audit_sessions",
        f"CREATE TRIGGER {_TRIGGER} BEFORE UPDATE ON audit_sessions FOR EACH ROW "
        f"EXECUTE FUNCTION {GUARD_FUNCTION}()",
    ]
