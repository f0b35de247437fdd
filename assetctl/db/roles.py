"""PostgreSQL role names and what the connecting login may do (no heavy imports: the
config layer validates the prefix with `check_prefix`).

A deployment has four cluster-wide roles derived from one prefix (so several assetctl
databases can share a server): `{prefix}_owner` owns every schema object and the SECURITY
DEFINER functions, and `{prefix}_viewer|operator|admin` are NOLOGIN group roles that mirror
the product's roles. People and CI jobs connect with their own logins, each granted one
group role by `assetctl user add-login`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_PREFIX = "assetctl"
PREFIX_ENV = "ASSETCTL_DB_ROLE_PREFIX"
# Where the prefix a database's roles were created with is recorded (app_meta key).
PREFIX_META_KEY = "db_role_prefix"
# PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1).
MAX_IDENTIFIER = 63
# Lower-case letters, digits and underscores need no quoting anywhere, so the names can be
# typed in psql and pg_hba.conf as they are.
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
GROUP_ROLES = ("viewer", "operator", "admin")
SUFFIXES = ("owner", *GROUP_ROLES)


def check_prefix(raw: object) -> str:
    """The validated role prefix, or ValueError saying why not (before anything exists)."""
    value = str(raw).strip()
    if not _PLAIN.fullmatch(value):
        raise ValueError(
            "expected lower-case letters, digits and underscores, starting with a letter or "
            "underscore (names PostgreSQL never needs to quote)"
        )
    if value.startswith("pg_"):
        raise ValueError("names starting with pg_ are reserved by PostgreSQL")
    longest = max(len(f"{value}_{suffix}".encode()) for suffix in SUFFIXES)
    if longest > MAX_IDENTIFIER:
        limit = MAX_IDENTIFIER - (longest - len(value))
        raise ValueError(f"at most {limit} characters (role names are limited to 63 bytes)")
    return value


def check_identifier(name: str) -> str:
    """A catalogue name (schema, login) safe to splice into SQL between double quotes."""
    if not name or len(name.encode()) > MAX_IDENTIFIER or '"' in name or "\x00" in name:
        raise ValueError(f"unusable PostgreSQL identifier {name!r}")
    return name


def quote(name: str) -> str:
    """`name` as a quoted SQL identifier (validated first)."""
    return f'"{check_identifier(name)}"'


def prefix_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The prefix a caller without settings uses: ASSETCTL_DB_ROLE_PREFIX, else None (the
    one recorded in the database, else the default), like migrations/env.py, which also
    reads the environment."""
    raw = (os.environ if env is None else env).get(PREFIX_ENV)
    return check_prefix(raw) if raw else None


@dataclass(frozen=True)
class RoleNames:
    prefix: str

    @property
    def owner(self) -> str:
        return f"{self.prefix}_owner"

    def group(self, role: str) -> str:
        if role not in GROUP_ROLES:
            raise ValueError(f"unknown role {role!r}")
        return f"{self.prefix}_{role}"

    @property
    def groups(self) -> dict[str, str]:
        return {role: self.group(role) for role in GROUP_ROLES}

    @property
    def all(self) -> tuple[str, ...]:
        return (self.owner, *self.groups.values())


def recorded_prefix(conn: Any) -> str | None:
    """The prefix this database's roles were created with (None before the first apply)."""
    from sqlalchemy import text

    value = conn.execute(
        text("SELECT value FROM app_meta WHERE key = :key"), {"key": PREFIX_META_KEY}
    ).scalar_one_or_none()
    return None if value is None else str(value)


@dataclass(frozen=True)
class LoginFacts:
    """What PostgreSQL says about the connecting login."""

    login: str
    superuser: bool
    createrole: bool
    # Member of the owner role, or owner of the schema: roles are advisory for it.
    owns_schema: bool
    groups: tuple[str, ...]  # the assetctl group roles it holds (product names)


def login_facts(conn: Any, names: RoleNames) -> LoginFacts:
    """Superuser, CREATEROLE, schema ownership and group roles of `session_user`."""
    from sqlalchemy import text

    row = conn.execute(
        text(
            "SELECT r.rolname, r.rolsuper, r.rolcreaterole, "
            " pg_has_role(session_user, n.nspowner, 'USAGE') "
            " OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :owner) "
            "     AND pg_has_role(session_user, :owner, 'USAGE')) "
            "FROM pg_roles r, pg_namespace n "
            "WHERE r.rolname = session_user AND n.nspname = current_schema()"
        ),
        {"owner": names.owner},
    ).one()
    held = conn.execute(
        text(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = session_user "
            "AND g.rolname = ANY(:groups)"
        ),
        {"groups": list(names.groups.values())},
    ).scalars()
    by_name = {name: role for role, name in names.groups.items()}
    return LoginFacts(
        str(row[0]),
        bool(row[1]),
        bool(row[2]),
        bool(row[3]),
        tuple(sorted(by_name[name] for name in held)),
    )


@dataclass(frozen=True)
class Mode:
    """How a connection is governed: `sqlite`, `enforced`, `advisory` (superuser or schema
    owner), `unlinked` (no assetctl group role) or `unmigrated`."""

    kind: str
    login: str = ""
    prefix: str = ""
    groups: tuple[str, ...] = ()


def connection_mode(url: str) -> Mode:
    """What PostgreSQL enforces for the login of `url` (ServiceUnavailableError when the
    database cannot be reached)."""
    from sqlalchemy.exc import DBAPIError

    from assetctl.db.engine import create_db_engine, unavailable

    engine = create_db_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            return Mode("sqlite")
        with engine.connect() as conn:
            prefix = _prefix_from_catalog(conn)
            if prefix is None:
                return Mode("unmigrated")
            facts = login_facts(conn, RoleNames(prefix))
    except DBAPIError as exc:
        raise unavailable(url, exc) from exc
    finally:
        engine.dispose()
    if facts.superuser or facts.owns_schema:
        return Mode("advisory", facts.login, prefix, facts.groups)
    return Mode("enforced" if facts.groups else "unlinked", facts.login, prefix, facts.groups)


def _prefix_from_catalog(conn: Any) -> str | None:
    """The prefix, read from who owns `assets` (the catalogue is readable by any login, even
    one that may read no table yet); None before the first security step."""
    from sqlalchemy import text

    owner = conn.execute(
        text(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'assets' "
            "AND schemaname = current_schema()"
        )
    ).scalar_one_or_none()
    if owner is None or not str(owner).endswith("_owner"):
        return None
    return str(owner).removesuffix("_owner")
