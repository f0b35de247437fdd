"""JWT issue and verification (PyJWT, HS256 only).

Decoding pins the algorithm list, requires every claim, and checks issuer, audience, expiry
and not-before with a small leeway; anything else about a token is rejected before the
database is consulted.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType

from assetctl.errors import NotAuthenticatedError

ISSUER = "assetctl"
AUDIENCE = "assetctl-cli"
ALGORITHM = "HS256"
LEEWAY_S = 30
MAX_TOKEN_CHARS = 4096
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "role")


@dataclass(frozen=True)
class Claims:
    user_id: int
    jti: str
    role: str
    issued_at: datetime
    expires_at: datetime


def _jwt() -> ModuleType:
    """PyJWT, imported without its optional `cryptography` backend when nothing else has
    loaded it yet: we only sign and verify HS256, and the RSA/EC support costs about 100 ms
    on every command. (A later `import cryptography`, e.g. by the keyring, still works.)"""
    loaded = sys.modules.get("jwt")
    if loaded is not None:
        return loaded
    blocked = "cryptography" not in sys.modules
    if blocked:
        sys.modules["cryptography"] = None  # type: ignore[assignment]
    try:
        import jwt
    finally:
        if blocked:
            del sys.modules["cryptography"]
    return jwt


def new_jti() -> str:
    return secrets.token_urlsafe(24)


def issue(secret: str, *, user_id: int, role: str, jti: str, now: datetime, lifetime_s: int) -> str:
    jwt = _jwt()

    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime_s)).timestamp()),
        "jti": jti,
        "role": role,
    }
    return str(jwt.encode(payload, secret, algorithm=ALGORITHM))


def invalid_token(reason: str) -> NotAuthenticatedError:
    return NotAuthenticatedError(
        f"your session is not valid ({reason})",
        hint="log in again with `assetctl auth login --email YOU`",
    )


def verify(secret: str, token: str, *, now: datetime | None = None) -> Claims:
    """Decode and check a token's signature and claims; raise NotAuthenticatedError."""
    jwt = _jwt()

    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise invalid_token("malformed token")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise invalid_token("unexpected signing algorithm")
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_S,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError:
        raise invalid_token("it has expired") from None
    except jwt.ImmatureSignatureError:
        raise invalid_token("it is not valid yet") from None
    except jwt.InvalidTokenError:
        raise invalid_token("bad signature or claims") from None
    current = now or datetime.now(UTC)
    issued = payload["iat"]
    if not isinstance(issued, int) or issued > current.timestamp() + LEEWAY_S:
        raise invalid_token("issued in the future")
    subject, jti, role = payload["sub"], payload["jti"], payload["role"]
    if not (isinstance(subject, str) and subject.isdigit()):
        raise invalid_token("bad subject")
    if not isinstance(jti, str) or not isinstance(role, str):
        raise invalid_token("bad claims")
    return Claims(
        user_id=int(subject),
        jti=jti,
        role=role,
        issued_at=datetime.fromtimestamp(issued, UTC),
        expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
    )


def unverified_expiry(token: str) -> datetime:
    """The `exp` of a token this process was just handed by the database that signed it
    (no key here to verify it with, and no need: it is verified at every use)."""
    import base64
    import json

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return datetime.fromtimestamp(int(claims["exp"]), UTC)
