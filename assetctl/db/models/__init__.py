"""The ORM classes, mapped onto the tables of `db/tables.py` one area at a time.

`from assetctl.db.models import User` imports `models/auth.py` alone and maps its classes:
a command pays for the mappers it uses (building one, and configuring it on the first ORM
query), not for all of them. Reads go through the tables and map nothing. The columns are
the tables'; each class declares their Python types for the type checker only
(`tests/test_models.py` holds the two to the same names and nullability).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import registry

if TYPE_CHECKING:
    from assetctl.db.models.assets import Asset, AssetEvent
    from assetctl.db.models.audits import AuditExpected, AuditFound, AuditScan, AuditSession
    from assetctl.db.models.auth import AuthSession, Meta, User
    from assetctl.db.models.security import (
        AlertDelivery,
        LoginEvent,
        SecurityAlert,
        SecurityPolicy,
    )

__all__ = [
    "AlertDelivery",
    "Asset",
    "AssetEvent",
    "AuditExpected",
    "AuditFound",
    "AuditScan",
    "AuditSession",
    "AuthSession",
    "LoginEvent",
    "Meta",
    "SecurityAlert",
    "SecurityPolicy",
    "User",
]

# The tables are given to each mapping: the registry needs no metadata of its own.
mapper_registry = registry()

# Each class and the module (area) that maps it.
_AREAS = {
    "Asset": "assets",
    "AssetEvent": "assets",
    "User": "auth",
    "AuthSession": "auth",
    "Meta": "auth",
    "LoginEvent": "security",
    "SecurityAlert": "security",
    "AlertDelivery": "security",
    "SecurityPolicy": "security",
    "AuditSession": "audits",
    "AuditExpected": "audits",
    "AuditFound": "audits",
    "AuditScan": "audits",
}


def __getattr__(name: str) -> Any:
    """A class of this package, its area mapped on first use (PEP 562)."""
    area = _AREAS.get(name)
    if area is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{area}"), name)


class Model:
    """What every mapped class gets from the declarative base it no longer has: keyword
    construction of a new row (`User(email=..., ...)`)."""

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        for name, value in values.items():
            if not hasattr(cls, name):
                raise TypeError(f"{name!r} is an invalid keyword argument for {cls.__name__}")
            setattr(self, name, value)
