"""Users, their sessions and the per-database settings, as ORM classes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import deferred

from assetctl.db import account_tables
from assetctl.db.models import Model, mapper_registry

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Mapped


class User(Model):
    """A person who logs in. `email` is stored lower-cased: unique case-insensitively."""

    id: Mapped[int]
    email: Mapped[str]
    name: Mapped[str]
    role: Mapped[str]
    password_hash: Mapped[str]
    active: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    tokens_valid_after: Mapped[datetime]
    failed_logins: Mapped[int]
    first_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]


class AuthSession(Model):
    """One issued token, keyed by its `jti`; logout sets `revoked_at`."""

    jti: Mapped[str]
    user_id: Mapped[int]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    host: Mapped[str | None]
    db_login: Mapped[str | None]


class Meta(Model):
    """Per-database settings generated once (e.g. the JWT signing key)."""

    key: Mapped[str]
    value: Mapped[str]


# Deferred: on PostgreSQL no client role may read the hash (see
# core.auth.store.password_hash) nor the lockout counters (admins see whether an account is
# locked through core.auth.store.lock_states), so a loaded user never selects them.
_UNREADABLE = ("password_hash", "failed_logins", "first_failed_at", "locked_until")
mapper_registry.map_imperatively(
    User,
    account_tables.users,
    properties={name: deferred(account_tables.users.c[name]) for name in _UNREADABLE},
)
mapper_registry.map_imperatively(AuthSession, account_tables.sessions)
mapper_registry.map_imperatively(Meta, account_tables.app_meta)
