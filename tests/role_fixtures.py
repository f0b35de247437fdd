"""A team deployment for the role tests: a migrated PostgreSQL database of its own, real
logins (named from this run's role prefix, dropped at the end of the session with its
roles) bound to app users, and connections as each login (trust auth on 127.0.0.1)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import pytest

from .auth_helpers import PASSWORD, register, token_for
from .conftest import (
    NO_IP_LOOKUP,
    ROLE_PREFIX,
    Cli,
    _pg_admin,
    base_env,
    bootstrap_admin,
    create_pg_database,
    drop_pg_database,
    pg_url_for,
)

ROLES = ("viewer", "operator", "admin")


def new_login(kind: str, *options: str) -> str:
    """CREATE ROLE ... LOGIN with a random name under this run's prefix (so the session's
    cleanup drops it; not `{prefix}_...`, which names assetctl's own roles)."""
    name = f"{ROLE_PREFIX}{kind}{secrets.token_hex(3)}"
    conn = _pg_admin()
    try:
        conn.cursor().execute(f'CREATE ROLE "{name}" LOGIN {" ".join(options)}')
    finally:
        conn.close()
    return name


def login_url(database: str, login: str) -> str:
    return f"postgresql+psycopg2://{login}@127.0.0.1:5432/{database}"


@contextmanager
def connect_as(database: str, login: str) -> Iterator[Any]:
    """A psycopg2 connection as `login`; rolled back at the end unless committed."""
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user=login, dbname=database)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def refused(conn: Any, sql: str, params: Any = None) -> bool:
    """True if PostgreSQL refuses `sql` with a permission error (SQLSTATE 42501)."""
    try:
        with conn.cursor() as cursor:
            cursor.execute("SAVEPOINT probe")
            cursor.execute(sql, params)
    except psycopg2.errors.InsufficientPrivilege:
        conn.cursor().execute("ROLLBACK TO SAVEPOINT probe")
        return True
    conn.cursor().execute("ROLLBACK TO SAVEPOINT probe")
    return False


def rows(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclass
class Member:
    email: str
    role: str
    login: str
    token: str
    user_id: int


@dataclass
class Team:
    database: str
    url: str  # as the superuser
    admin: Cli  # the bootstrap admin over the superuser connection
    tmp: Path
    members: dict[str, Member] = field(default_factory=dict)

    def cli_for(self, member: Member) -> Cli:
        """The CLI as `member`: its own login in the URL and its own token."""
        env = base_env(self.tmp / member.role, login_url(self.database, member.login))
        return Cli({**env, "ASSETCTL_TOKEN": member.token, **NO_IP_LOOKUP})

    def sql_admin(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        conn = psycopg2.connect(pg_url_for(self.database).replace("+psycopg2", ""))
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                result = list(cursor.fetchall()) if cursor.description else []
            conn.commit()
            return result
        finally:
            conn.close()


def add_member(team: Team, role: str, email: str | None = None) -> Member:
    """An app user with `role`, a login bound to it by `user add-login`, and a token from
    logging in over that login."""
    email = email or f"{role}-{secrets.token_hex(2)}@example.com"
    register(team.admin, email, role)
    login = new_login(role[0])
    team.admin.ok("user", "add-login", login, "--role", role, "--user", email)
    env = base_env(team.tmp / email, login_url(team.database, login))
    own = Cli({**env, **NO_IP_LOOKUP})
    token = token_for(own, email, PASSWORD)
    (user_id,) = team.sql_admin("SELECT id FROM users WHERE email = %s", (email,))[0]
    return Member(email, role, login, token, int(user_id))


@pytest.fixture(scope="module")
def team(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """A database of its own with one member per role (plus the bootstrap admin)."""
    from assetctl.db.migrate import upgrade

    del pg_database  # only for its skip (or CI failure) when PostgreSQL is missing
    name = create_pg_database()
    try:
        url = pg_url_for(name)
        upgrade(url, ROLE_PREFIX)
        tmp = tmp_path_factory.mktemp("team")
        admin = Cli({**base_env(tmp / "boot", url), **NO_IP_LOOKUP})
        admin.env["ASSETCTL_TOKEN"] = bootstrap_admin(url)
        built = Team(name, url, admin, tmp)
        for role in ROLES:
            built.members[role] = add_member(built, role)
        yield built
    finally:
        drop_pg_database(name)
