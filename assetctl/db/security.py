"""`assetctl db upgrade`'s security step on PostgreSQL: roles, ownership, grants, the
definer functions, row-level security and the history triggers, (re)applied idempotently
after every migration run. Nothing here is frozen into a migration, so a table or column
added later gets its grants from the next upgrade.

Run by a superuser, or by a login with CREATEROLE that owns the schema objects (the login
that ran the migrations so far, e.g. the database owner). After the first run that login is
a member of `{prefix}_owner`, so later upgrades need no CREATEROLE.
"""

# SQL text here is built only from constants, model column names and identifiers validated
# by assetctl.db.roles; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

from assetctl.db import grants, history_trigger, pg_audits, pg_cache, pg_functions
from assetctl.db.roles import (
    DEFAULT_PREFIX,
    PREFIX_META_KEY,
    LoginFacts,
    RoleNames,
    check_identifier,
    login_facts,
    quote,
    recorded_prefix,
)
from assetctl.errors import InvalidInputError, ServiceUnavailableError

UPGRADE_BY_OWNER = (
    "ask a superuser (or the database owner, with CREATEROLE) to run `assetctl db upgrade`, "
    "e.g. `ASSETCTL_DATABASE_URL=postgresql://postgres@HOST/DB assetctl db upgrade`"
)


def choose_prefix(conn: Any, configured: str | None) -> str:
    """The prefix recorded in the database (its roles exist under it), else the configured
    one, else the default. A configured one that differs from the record is refused rather
    than creating a second set of roles."""
    recorded = recorded_prefix(conn) if _has_table(conn, "app_meta") else None
    if configured is None:
        return recorded or DEFAULT_PREFIX
    if recorded is not None and recorded != configured:
        raise InvalidInputError(
            f"this database's roles use the prefix {recorded!r}, not {configured!r}",
            hint=f"unset ASSETCTL_DB_ROLE_PREFIX or set it to {recorded}",
        )
    return configured


def _has_table(conn: Any, table: str) -> bool:
    from sqlalchemy import text

    return bool(conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar())


def check_rights(conn: Any, names: RoleNames) -> LoginFacts:
    """Refuse (exit 7) before anything changes when this login cannot create or use the
    roles: it needs to be a superuser, or have CREATEROLE, or already be in the owner role."""
    facts = login_facts(conn, names)
    if facts.superuser:
        return facts
    in_owner = _member(conn, facts.login, names.owner)
    if not in_owner and not facts.createrole:
        raise ServiceUnavailableError(
            f"the database login {facts.login!r} lacks the CREATEROLE privilege needed to "
            f"create the {names.prefix}_* roles (or membership in {names.owner})",
            hint=UPGRADE_BY_OWNER,
        )
    return facts


def _member(conn: Any, login: str, role: str) -> bool:
    from sqlalchemy import text

    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :r) "
                "AND pg_has_role(:login, :r, 'MEMBER')"
            ),
            {"r": role, "login": login},
        ).scalar()
    )


def _run(conn: Any, statements: list[str]) -> None:
    for statement in statements:
        conn.exec_driver_sql(statement.replace("%", "%%"))


def _ensure_roles(conn: Any, names: RoleNames, facts: LoginFacts) -> None:
    """Create missing roles (a concurrent upgrade of another database may create them at
    the same moment: both outcomes are fine), and make the owner able to grant the groups."""
    for name in names.all:
        _run(
            conn,
            [
                "DO $do$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
                f"'{name}') THEN CREATE ROLE {quote(name)} NOLOGIN; END IF; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $do$"
            ],
        )
    if not facts.superuser and not _member(conn, facts.login, names.owner):
        _run(conn, [f"GRANT {quote(names.owner)} TO {quote(facts.login)}"])
    for group in names.groups.values():
        if not _admin_option(conn, names.owner, group):
            _run(conn, [f"GRANT {quote(group)} TO {quote(names.owner)} WITH ADMIN OPTION"])


def _admin_option(conn: Any, member: str, role: str) -> bool:
    from sqlalchemy import text

    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON "
                "r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = :r "
                "AND u.rolname = :m AND m.admin_option)"
            ),
            {"r": role, "m": member},
        ).scalar()
    )


def _objects(conn: Any, schema: str) -> tuple[list[str], dict[str, str]]:
    """Tables and sequences of the schema (names), and each table's id sequence."""
    from sqlalchemy import text

    rows = conn.execute(
        text(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON "
            "n.oid = c.relnamespace WHERE n.nspname = :s AND c.relkind IN ('r', 'S', 'v')"
        ),
        {"s": schema},
    ).all()
    owned = conn.execute(
        text(
            "SELECT t.relname, s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
            "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = s.relnamespace "
            "WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') AND n.nspname = :s"
        ),
        {"s": schema},
    ).all()
    linked = {str(s) for _, s in owned}  # sequences owned by a column follow their table
    names = [str(r[0]) for r in rows if str(r[0]) not in linked]
    return names, {str(t): str(s) for t, s in owned}


def _ownership(conn: Any, names: RoleNames, schema: str, objects: list[str]) -> list[str]:
    owner = quote(names.owner)
    sql = [f"GRANT USAGE, CREATE ON SCHEMA {quote(schema)} TO {owner}"]
    sql += [f"ALTER TABLE {quote(name)} OWNER TO {owner}" for name in objects]
    return sql


def apply(conn: Any, prefix: str) -> None:
    """Apply roles, ownership, functions, grants, RLS and triggers in `conn`'s transaction.
    Raises ServiceUnavailableError (exit 7) when this login may not."""
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    names = RoleNames(prefix)
    schema = check_identifier(str(conn.execute(text("SELECT current_schema()")).scalar_one()))
    facts = check_rights(conn, names)
    step = "create the roles"
    try:
        _ensure_roles(conn, names, facts)
        step = "hand the schema objects to the owner role"
        objects, sequences = _objects(conn, schema)
        _run(conn, _ownership(conn, names, schema, objects))
        step = "define the functions and triggers"
        statements = [f"DROP FUNCTION IF EXISTS {old}" for old in pg_functions.OBSOLETE]
        statements += [pg_functions.create_sql(f, schema) for f in pg_functions.functions(names)]
        statements.append(history_trigger.function_sql(schema))
        statements.append(pg_audits.function_sql(schema))
        owner = quote(names.owner)
        statements += [f"ALTER FUNCTION {f.signature} OWNER TO {owner}" for f in _functions(names)]
        statements += history_trigger.trigger_sql()
        statements += pg_cache.trigger_sql()
        statements += pg_audits.trigger_sql()
        _run(conn, statements)
        step = "grant the privileges"
        _run(conn, grants.grant_sql(names, schema, sequences))
        _run(conn, grants.execute_sql(names))
        _run(conn, grants.policy_sql())
        if _owns_schema(conn, schema):
            _run(conn, [f"REVOKE CREATE ON SCHEMA {quote(schema)} FROM PUBLIC"])
        conn.execute(
            text(
                "INSERT INTO app_meta (key, value) VALUES (:k, :v) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            {"k": PREFIX_META_KEY, "v": prefix},
        )
    except ProgrammingError as exc:
        if getattr(exc.orig, "pgcode", None) != "42501":
            raise
        raise ServiceUnavailableError(
            f"the database login {facts.login!r} may not {step} (it needs to own the schema "
            "objects, or be a superuser)",
            hint=UPGRADE_BY_OWNER,
        ) from None


def _functions(names: RoleNames) -> list[pg_functions.Function]:
    triggers = [
        pg_functions.Function(name, "", "trigger", "", ())
        for name in (history_trigger.TRIGGER_FUNCTION, pg_audits.GUARD_FUNCTION)
    ]
    return [*pg_functions.functions(names), *triggers]


def _owns_schema(conn: Any, schema: str) -> bool:
    from sqlalchemy import text

    return bool(
        conn.execute(
            text(
                "SELECT pg_has_role(nspowner, 'USAGE') OR (SELECT rolsuper FROM pg_roles "
                "WHERE rolname = current_user) FROM pg_namespace WHERE nspname = :s"
            ),
            {"s": schema},
        ).scalar()
    )
