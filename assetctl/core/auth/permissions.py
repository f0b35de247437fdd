"""Who may do what: the roles, what each allows, and the one check every core function
runs on its caller. viewer reads; operator also writes assets; admin also deletes, restores
and manages users.

The convention: a core function that acts for someone takes `caller: Principal` right after
its session and starts with `require(caller, Permission.X)`. The CLI only authenticates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from assetctl.errors import PermissionDeniedError


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    ADMIN = "admin"


ROLES = ("admin", "operator", "viewer")

GRANTS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.READ}),
    "operator": frozenset({Permission.READ, Permission.WRITE}),
    "admin": frozenset(Permission),
}


def allows(role: str, permission: Permission) -> bool:
    return permission in GRANTS.get(role, frozenset())


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one command."""

    user_id: int
    email: str
    name: str
    role: str
    jti: str
    expires_at: datetime


def require(principal: Principal, permission: Permission) -> None:
    """Raise PermissionDeniedError (exit 5) unless the caller's role allows `permission`."""
    if not allows(principal.role, permission):
        raise PermissionDeniedError(
            f"your role ({principal.role}) does not allow this ({permission.value} access)",
            hint="ask an admin to change your role with `assetctl user set-role`",
        )
