"""`assetctl cache stats | clear`: inspect and empty the Redis listing cache."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from assetctl.cli.render import Output, render_record, resolve_format
from assetctl.cli.state import AppState, get_state
from assetctl.core.auth.permissions import Permission, require
from assetctl.errors import InvalidInputError, ServiceUnavailableError

app = typer.Typer(help="Inspect and clear the Redis listing cache.", no_args_is_help=True)

STATS_FIELDS = ("redis", "hits", "misses", "keys", "memory_bytes", "server_memory", "ttl_seconds")


@contextmanager
def _redis_required() -> Iterator[None]:
    """These commands exist to talk to Redis: unlike listings, they fail (exit 7) without it."""
    from assetctl.cache import CacheUnavailable

    try:
        yield
    except CacheUnavailable as exc:
        raise ServiceUnavailableError(str(exc), hint="check ASSETCTL_REDIS_URL") from None


def _namespace(state: AppState, permission: Permission) -> tuple[Any, str]:
    """Check the caller may do this, then return (cache, database id)."""
    from assetctl.db.identity import database_identity

    cache = state.factory.cache()
    if cache is None:
        if state.factory.settings.values.get("redis_url"):
            raise InvalidInputError(
                "the Redis cache serves PostgreSQL databases only, and this one is SQLite",
                hint="point ASSETCTL_DATABASE_URL at PostgreSQL to use the cache",
            )
        raise InvalidInputError(
            "no cache is configured", hint="set ASSETCTL_REDIS_URL (and drop --no-cache)"
        )
    with state.transaction() as session:
        require(state.caller(session), permission)
        namespace = database_identity(session) or ""
    return cache, namespace


@app.command()
def stats(ctx: typer.Context, output: Output = None) -> None:
    """Hits, misses, keys and memory of this database's cache entries."""
    state = get_state(ctx)
    cache, db_id = _namespace(state, Permission.READ)
    with _redis_required():
        record = cache.stats(db_id)
    render_record(state, resolve_format(state, output), record, fields=STATS_FIELDS)


@app.command()
def clear(ctx: typer.Context) -> None:
    """Drop every cached entry of this database (admin only)."""
    state = get_state(ctx)
    cache, db_id = _namespace(state, Permission.ADMIN)
    with _redis_required():
        removed = cache.clear(db_id)
    state.io.info(f"Removed {removed} cache keys.")
