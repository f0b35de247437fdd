"""Helpers for the authentication tests: users made through the CLI, forged tokens signed with
the database's real key, and direct reads of the users/sessions tables."""

from __future__ import annotations

import time
from typing import Any

import jwt
from sqlalchemy import create_engine, text

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Cli

PASSWORD = "a long enough passphrase"


def db_secret(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT value FROM app_meta WHERE key = 'jwt_secret'"))
            return str(value.scalar_one())
    finally:
        engine.dispose()


def query(url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return [dict(row) for row in result.mappings()] if result.returns_rows else []
    finally:
        engine.dispose()


def register(cli: Cli, email: str, role: str, password: str = PASSWORD) -> None:
    """Register a user as the admin (the `cli` fixture's token)."""
    cli.ok("auth", "register", "--email", email, "--role", role, "--password-stdin",
           input=password + "\n")  # fmt: skip


def token_for(cli: Cli, email: str, password: str = PASSWORD) -> str:
    """Log in as `email` with file storage and return the token `auth token` prints."""
    env = {"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file"}
    cli.ok("auth", "login", "--email", email, "--password-stdin", input=password + "\n", env=env)
    return cli.ok("auth", "token", env=env).stdout.strip()


def as_user(cli: Cli, token: str) -> Cli:
    return Cli({**cli.env, "ASSETCTL_TOKEN": token})


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def forge(secret: str, base: dict[str, Any], *, drop: tuple[str, ...] = (), **changes: Any) -> str:
    """Re-sign `base` claims with changes (HS256 with the real key unless told otherwise)."""
    claims = {k: v for k, v in {**base, **changes}.items() if k not in drop}
    return jwt.encode(claims, secret, algorithm="HS256")


def now() -> int:
    return int(time.time())


__all__ = ["ADMIN_EMAIL", "ADMIN_PASSWORD"]
