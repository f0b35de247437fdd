"""Password rules and Argon2id hashing through passlib's API (the maintained `libpass` fork).

Parameters follow OWASP's Argon2id recommendation (19 MiB, 2 iterations, 1 lane), which
verifies in well under 0.5 s here. A hash made with older parameters is upgraded at login.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from passlib.context import CryptContext

MIN_CHARS = 12
MAX_BYTES = 1024


@lru_cache(maxsize=1)
def context() -> CryptContext:
    from passlib.context import CryptContext

    return CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=19456,
        argon2__time_cost=2,
        argon2__parallelism=1,
    )


def check_password_rules(password: str) -> None:
    """Reject empty, short and over-long passwords. Nothing is ever truncated."""
    if not password:
        raise InvalidInputError("the password is empty")
    if len(password) < MIN_CHARS:
        raise InvalidInputError(
            f"the password is too short ({len(password)} characters)",
            hint=f"use at least {MIN_CHARS} characters; a passphrase of several words is easiest",
        )
    if len(password.encode()) > MAX_BYTES:
        raise InvalidInputError(f"the password is longer than {MAX_BYTES} bytes")


def hash_password(password: str) -> str:
    return str(context().hash(password))


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Check `password`; returns (ok, new hash if the stored one should be upgraded).

    With no stored hash (unknown user) a dummy verification still runs, so the time taken
    does not reveal whether the account exists.
    """
    ctx = context()
    if password_hash is None or len(password.encode()) > MAX_BYTES:
        ctx.dummy_verify()
        return False, None
    ok, new_hash = ctx.verify_and_update(password, password_hash)
    return bool(ok), new_hash
