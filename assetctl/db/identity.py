"""A stable identity for the database a command talks to, used to namespace the cache.

It combines the random per-database key (so every URL spelling of one database agrees) with
where that database lives: the database name and, where the role may read it, the
PostgreSQL cluster's system identifier; the file for SQLite. So a copy restored under
another name or into another cluster, or a copied SQLite file, never shares cache entries
with its original. On PostgreSQL the owner's function `assetctl_cache_namespace` computes it.
(A copy restored into another cluster whose owner role may not read the
system identifier keeps the original's identity: use a separate Redis database for it.)
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def database_identity(session: Session) -> str | None:
    """20 hex characters naming this database, or None before migrations ran."""
    from assetctl.db.models import Meta

    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Computed by the owner's function (no client may read the signing key), the same
        # value a cache hit's probe hands out (assetctl.db.pg_cache).
        return _pg_namespace(session)
    meta = session.get(Meta, "jwt_secret")
    if meta is None:
        return None
    key = meta.value
    path = bind.engine.url.database or ""
    stat = os.stat(path) if path and os.path.exists(path) else None
    where = f"{os.path.realpath(path)}|{stat.st_ino if stat else 0}"
    digest = hashlib.sha256(f"assetctl-database:{key}|{where}".encode())
    return digest.hexdigest()[:20]


def _pg_namespace(session: Session) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with session.begin_nested():
            value = session.execute(text("SELECT assetctl_cache_namespace()")).scalar()
    except DBAPIError:  # before `db upgrade` defined the function
        return None
    return None if value is None else str(value)
