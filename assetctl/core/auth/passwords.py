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


# --- server relief (PostgreSQL) ----------------------------------------------------------
# The database keeps `relief$M$T$P$LEN$SALT$VERIFIER`: the Argon2id parameters, the salt
# and SHA-256 of the Argon2id output. The client derives that output from the password and
# the parameters and salt the database hands out (`M$T$P$LEN$SALT`, a stable fake one for
# an unknown email); the database compares SHA-256 of it with the verifier. So no client
# reads a hash, and what the database stores is not a password equivalent.
RELIEF = "relief"
MEMORY_KIB, TIME_COST, LANES, OUTPUT_BYTES, SALT_BYTES = 19456, 2, 1, 32, 16
CURRENT = f"{MEMORY_KIB}${TIME_COST}${LANES}${OUTPUT_BYTES}$"


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    import base64

    return base64.b64decode(text + "=" * (-len(text) % 4))


def relief_proof(password: str, settings: str) -> str:
    """The Argon2id output (base64) for `password` under `settings` (`M$T$P$LEN$SALT`).
    One full hash computation whatever the input, so timing tells nothing."""
    from argon2.low_level import Type, hash_secret_raw

    memory, time_cost, lanes, length, salt = settings.split("$")
    raw = hash_secret_raw(
        password.encode()[:MAX_BYTES],
        _unb64(salt),
        time_cost=int(time_cost),
        memory_cost=int(memory),
        parallelism=int(lanes),
        hash_len=int(length),
        type=Type.ID,
    )
    return _b64(raw)


def relief_hash(password: str) -> str:
    """What the database stores for a new password: parameters, fresh salt, verifier."""
    import hashlib
    import secrets

    settings = CURRENT + _b64(secrets.token_bytes(SALT_BYTES))
    raw = _unb64(relief_proof(password, settings))
    return f"{RELIEF}${settings}${hashlib.sha256(raw).hexdigest()}"


def relief_outdated(settings: str) -> bool:
    return not settings.startswith(CURRENT)
