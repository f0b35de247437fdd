"""Read-through caching for read commands (`asset list`, `asset show`), on PostgreSQL.

Hit path: one call of `assetctl_cache_probe` over the bare driver (the database checks the
session now: revoked, expired, disabled, role, login; and says the current generation and
the key entries of it are signed with), then one Redis GET of an entry whose MAC must hold.
It never imports SQLAlchemy. Anything else (a refused token, a database the probe cannot
reach, a missing or unverifiable entry) takes the miss path.
Miss path: in one transaction the probe runs first, so the generation it reads is no newer
than the data the query that follows sees; then the caller is authenticated and the value
computed, and stored under that generation. A write committing meanwhile bumps the
generation in its own transaction, so what this miss stores is never served after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from assetctl.cli.state import AppState
from assetctl.core.auth.permissions import Permission, allows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.cache import Cache, Snapshot
    from assetctl.db.cache_probe import Probe

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
    (storing the answer). Redis trouble never fails the command. Without a cache (no Redis
    configured, or --no-cache) this is one transaction and `assetctl.cache` is not even
    imported."""
    cache = state.factory.cache()
    digest = token = ""
    if cache is not None:
        from assetctl.cache import key_digest

        digest = key_digest({"kind": kind, **key})
        token = state.factory.token_store().load().token
        found = _hit(state, cache, token, kind, digest, decode)
        if found:
            return found[0]

    snap: Snapshot | None = None
    with state.transaction() as session:
        if state.factory.cache() is not None:
            snap = _snapshot_in(session, token)
        caller = state.caller(session)
        result = fn(session, caller, *args, **kwargs)
    if cache is not None and snap is not None and state.factory.cache() is not None:
        from assetctl.cache import CacheUnavailable

        try:
            cache.put(snap, kind, digest, encode(result))
        except CacheUnavailable as exc:
            state.factory.cache_failed(exc)
    return result


def _hit(
    state: AppState, cache: Cache, token: str, kind: str, digest: str, decode: Callable[[Any], T]
) -> tuple[T] | None:
    """(value,) on a hit, None otherwise."""
    from assetctl.cache import CacheUnavailable
    from assetctl.db.cache_probe import probe_bare

    snap = _snapshot(probe_bare(state.factory.settings.database_url, token))
    if snap is None:
        return None
    try:
        value = cache.get(snap, kind, digest)
        if value is not None:
            try:
                return (decode(value),)
            except (ValueError, TypeError, KeyError):
                cache.drop(snap, kind, digest)
                cache.problems.append("a cached entry could not be decoded; it was dropped")
    except CacheUnavailable as exc:
        state.factory.cache_failed(exc)
    for problem in cache.problems:
        state.io.warn(problem)
    cache.problems.clear()
    return None


def _snapshot(probe: Probe | None) -> Snapshot | None:
    """What entries the database's answer lets this caller use: none when it refused the
    token (the miss path says why), or runs another schema revision than this assetctl."""
    from assetctl.cache import Snapshot
    from assetctl.db.schema_version import HEAD_REVISION

    if probe is None or probe.reason is not None or probe.revision != HEAD_REVISION:
        return None
    if not allows(probe.role, Permission.READ):
        return None
    return Snapshot(probe.namespace, probe.generation, probe.mac_key)


def _snapshot_in(session: Session, token: str) -> Snapshot | None:
    from assetctl.db.cache_probe import probe_in

    return _snapshot(probe_in(session, token))
