"""What each role may do. viewer reads; operator also writes assets; admin also deletes,
restores and manages users."""

from __future__ import annotations

from enum import StrEnum


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
