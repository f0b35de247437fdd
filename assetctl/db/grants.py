"""The privilege matrix and row-level rules, as SQL derived from the models.

Client roles (viewer, operator, admin) read what the product lets them read and write only
`assets` and the physical audit tables (`AUDIT_WRITES`: operator and admin append audits,
their expected and found assets and scans, and close an open audit; see also
`pg_audits`): operator may INSERT and UPDATE every asset column but may not UPDATE
`deleted_at`
(deleting and restoring is changing `deleted_at`, which is the admin's right: a column
grant, so PostgreSQL itself refuses an operator's `UPDATE assets SET deleted_at = ...`),
admin may UPDATE every column. Nobody may DELETE or
TRUNCATE anything: a hard delete would cascade into the asset's history. Every other write
goes through the SECURITY DEFINER functions of `pg_functions`, so no client role holds a
write grant on users, sessions, login events, alerts, deliveries or db_logins, and the audit
tables are append-only for all of them.

Row-level security: a viewer or operator sees only the login events, alerts (and their
deliveries) and sessions of the app user its login is linked to; an admin sees all. RLS is
not FORCEd: the owner role must see every row, since it is the definer of the functions
(which do their own checks); the owner is trusted, like a superuser.
"""

from __future__ import annotations

from assetctl.core.security.policy import CHANNEL_KEYS
from assetctl.db.pg_functions import Function, functions
from assetctl.db.roles import RoleNames, quote

# Physical audits: table -> (columns operator and admin may INSERT, columns they may
# UPDATE). Nobody may UPDATE or DELETE the expected set, the found set or the scan log;
# `audit_scans.db_user` keeps its default (session_user), so a scan always names the
# database login that made it.
AUDIT_WRITES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "audit_sessions": (
        ("location", "category", "status", "started_at", "started_by"),
        ("status", "closed_at", "closed_by", "outcome"),
    ),
    "audit_expected": (("session_id", "asset_id"), ()),
    "audit_found": (("session_id", "asset_id", "found_at", "found_by"), ()),
    "audit_scans": (("session_id", "code", "asset_id", "result", "scanned_at", "scanned_by"), ()),
}
# Tables every client role may read (app_meta without the signing key's row: see POLICIES).
READABLE = (
    "assets",
    "asset_events",
    # Not `sessions`: tokens are checked by assetctl_verify_token, so no client reads a
    # session row (issue 14).
    "app_meta",
    "login_events",
    "security_alerts",
    "alert_deliveries",
    "db_logins",
    "alembic_version",
    # The lockout and lifetime rows only: the alert channels' rows (credentials) are hidden
    # by the row policy below; writes go through assetctl_set_policy.
    "security_policy",
    # Physical audits: everyone reads them (`audit status`, `audit list`).
    *AUDIT_WRITES,
)
# Columns of `users` no client role may read: the hash (passwords are checked by server
# relief, assetctl.db.pg_passwords) and the lockout counters (the login functions keep them;
# admins see only whether an account is locked, through assetctl_user_locks).
LOCKOUT_COLUMNS = ("failed_logins", "first_failed_at", "locked_until")
SECRET_USER_COLUMNS = ("password_hash", *LOCKOUT_COLUMNS)
# Columns of `assets` no client may write: the key, and deleted_at (admin only).
_NEVER_WRITTEN = ("id",)
_ADMIN_ONLY = ("deleted_at",)

_CHANNELS = ", ".join(f"'{key}'" for key in CHANNEL_KEYS)
_OWN = "(user_id = (SELECT assetctl_caller_user_id()) OR (SELECT assetctl_is_admin()))"
# (table, policy USING clause) of every table with row-level rules.
POLICIES = {
    "login_events": _OWN,
    "security_alerts": _OWN,
    "sessions": _OWN,
    # A delivery is visible with its alert (whose own policy applies in the subquery).
    "alert_deliveries": "EXISTS (SELECT 1 FROM security_alerts a WHERE a.id = alert_id)",
    # The signing key is read only by the owner's token functions (assetctl.db.pg_tokens).
    "app_meta": "key <> 'jwt_secret'",
    # The alert channels' rows (an SMTP password, a webhook URL that often embeds a token)
    # by no client: admins, who deliver pending alerts, get them through the definer
    # function assetctl_alert_credentials (assetctl.db.pg_policy).
    "security_policy": f"key NOT IN ({_CHANNELS})",
}


def _columns(table: str) -> list[str]:
    from assetctl.db.tables import metadata

    return [c.name for c in metadata.tables[table].columns]


def grant_sql(names: RoleNames, schema: str, sequences: dict[str, str]) -> list[str]:
    """Revoke everything, then grant the matrix. `sequences` maps table -> its id sequence."""
    groups = names.groups
    every = ", ".join(quote(g) for g in groups.values())
    writers = f"{quote(groups['operator'])}, {quote(groups['admin'])}"
    columns = _columns("assets")
    public_user = [c for c in _columns("users") if c not in SECRET_USER_COLUMNS]
    # INSERT on every column: the ORM names deleted_at (NULL) in every INSERT, and a new
    # row changes no existing asset; its history shows whatever it was created with.
    insertable = columns
    updatable = [c for c in columns if c not in (*_NEVER_WRITTEN, *_ADMIN_ONLY)]
    sql = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM PUBLIC, {every}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quote(schema)} FROM PUBLIC, {every}",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {quote(schema)} FROM PUBLIC, {every}",
        f"GRANT USAGE ON SCHEMA {quote(schema)} TO {every}",
        f"GRANT SELECT ON {', '.join(READABLE)} TO {every}",
        f"GRANT SELECT ({', '.join(public_user)}) ON users TO {every}",
        f"GRANT INSERT ({', '.join(insertable)}) ON assets TO {writers}",
        f"GRANT UPDATE ({', '.join(updatable)}) ON assets TO {writers}",
        f"GRANT UPDATE ({', '.join(_ADMIN_ONLY)}) ON assets TO {quote(groups['admin'])}",
    ]
    for table, (inserts, updates) in AUDIT_WRITES.items():
        sql.append(f"GRANT INSERT ({', '.join(inserts)}) ON {table} TO {writers}")
        if updates:
            sql.append(f"GRANT UPDATE ({', '.join(updates)}) ON {table} TO {writers}")
    for table in ("assets", *AUDIT_WRITES):
        if table in sequences:
            sql.append(f"GRANT USAGE, SELECT ON SEQUENCE {quote(sequences[table])} TO {writers}")
    return sql


def execute_sql(names: RoleNames) -> list[str]:
    """EXECUTE on each function for exactly the group roles listed with it."""
    sql = []
    for function in functions(names):
        sql.append(f"REVOKE ALL ON FUNCTION {function.signature} FROM PUBLIC")
        if function.groups:  # none: only called by the other functions (e.g. signing)
            sql.append(_execute_grant(function, names))
    return sql


def _execute_grant(function: Function, names: RoleNames) -> str:
    to = ", ".join(quote(names.group(role)) for role in function.groups)
    return f"GRANT EXECUTE ON FUNCTION {function.signature} TO {to}"


def policy_sql() -> list[str]:
    """Row-level security: enabled (not forced) with one read policy per table. Writes go
    through the definer functions, so no write policy exists and RLS refuses every direct
    write even where a grant would allow it."""
    sql = []
    for table, using in POLICIES.items():
        sql += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS assetctl_read ON {table}",
            f"CREATE POLICY assetctl_read ON {table} FOR SELECT USING ({using})",
        ]
    return sql
