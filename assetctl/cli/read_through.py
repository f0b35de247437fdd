"""Read-through caching for read commands (`asset list`, `asset show`).

Hit path: token -> database id for this URL (Redis) -> generations and cached session check
(Redis) -> cached value. It touches neither SQLAlchemy nor the database driver.
Miss path: the database's identity is confirmed and the generations are read *before* the
query's snapshot starts; then the session is checked and the value computed in the database,
and both are stored under those generations. A write committing meanwhile bumps the
generation, so what this miss stores is never served after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

from assetctl.cli.state import AppState
from assetctl.core.auth.permissions import Permission, Principal, require

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.cache import Cache, Snapshot

T = TypeVar("T")


def cached_read(
    state: AppState,
    kind: str,
    key: Mapping[str, Any],
    fn: Callable[..., T],
    *args: Any,
    encode: Callable[[T], Any],
    decode: Callable[[Any], T],
    **kwargs: Any,
) -> T:
    """Answer `fn(session, *args)` from the cache when possible, else from the database
    (storing the answer). Redis trouble never fails the command."""
    from assetctl.cache import CacheUnavailable, key_digest

    cache = state.factory.cache()
    snap: Snapshot | None = None
    token = ""
    digest = key_digest({"kind": kind, **key})
    if cache is not None:
        try:
            token = _bound(state, state.factory.token_store().load().token)
            known = cache.known_db_id()
            if known:
                snap = cache.snapshot(known)
                principal = cache.get_principal(snap, token)
                if principal is not None:
                    require(Principal(**principal), Permission.READ)
                    value = cache.get(snap, kind, digest)
                    if value is not None:
                        return decode(value)
        except CacheUnavailable as exc:
            state.factory.cache_failed(exc)
        except (ValueError, TypeError, KeyError):
            state.factory.cache_failed(CacheUnavailable("a cached entry could not be decoded"))
        for problem in cache.problems:
            state.io.warn(problem)
        cache.problems.clear()

    with state.transaction() as session:
        if cache is not None and state.factory.cache() is not None:
            snap = _verified_snapshot(state, cache, session, snap)
        caller = state.caller(session)
        result = fn(session, caller, *args, **kwargs)
    if cache is not None and snap is not None and state.factory.cache() is not None:
        try:
            record = asdict(caller)
            cache.put_principal(snap, token, record)
            cache.put(snap, kind, digest, encode(result))
        except CacheUnavailable as exc:
            state.factory.cache_failed(exc)
    return result


def _bound(state: AppState, token: str) -> str:
    """The token together with the database login this process connects as: on
    PostgreSQL a token works only over the login it was opened over, so a session check
    cached for one login must never answer for another. The login is read the way libpq
    chooses it (URL user, else PGUSER, else the OS user), without importing SQLAlchemy."""
    import getpass
    import os
    from urllib.parse import urlsplit

    url = state.factory.settings.database_url
    try:
        login = urlsplit(url).username or os.environ.get("PGUSER") or getpass.getuser()
    except (ValueError, OSError, KeyError):
        login = ""
    return f"{token}\n{login}"


def _verified_snapshot(
    state: AppState, cache: Cache, session: Session, snap: Snapshot | None
) -> Snapshot | None:
    """On a miss, confirm which database this URL reaches now (a URL may have been pointed
    elsewhere), then end that read so the query that follows sees data no older than the
    generations in the returned snapshot."""
    from assetctl.cache import CacheUnavailable
    from assetctl.db.identity import database_identity

    real = database_identity(session)
    session.commit()
    if real is None:  # pragma: no cover - the unit of work checked the schema revision
        return None
    try:
        if snap is None or snap.db_id != real:
            cache.remember_db_id(real)
            snap = cache.snapshot(real)
    except CacheUnavailable as exc:
        state.factory.cache_failed(exc)
        return None
    return snap
