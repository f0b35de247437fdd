"""Per-invocation state shared by every command: global options, the injected environment,
lazily loaded settings and the stderr message channel.

Nothing is built at import time; settings are read on first use so `--help` never touches the
config file or the database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from assetctl.core.auth.permissions import Permission
from assetctl.errors import NotAuthenticatedError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.cache import Cache
    from assetctl.config import Settings
    from assetctl.core.auth.accounts import Principal
    from assetctl.credentials import TokenStore

T = TypeVar("T")


@dataclass
class AppState:
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stdout: TextIO | None = None
    stderr: TextIO | None = None
    profile: str | None = None
    no_color: bool = False
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    no_cache: bool = False
    # Set when a command already told the user why it exits with a non-zero status.
    explained_exit: bool = False
    _settings: Settings | None = None
    _cache: Cache | None = None
    _cache_off: bool = False

    @property
    def out(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self.stderr or sys.stderr

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from assetctl.config import load_settings

            self._settings = load_settings(self.env, profile=self.profile)
        return self._settings

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never with NO_COLOR, TERM=dumb or --no-color."""
        return not (
            self.no_color
            or "NO_COLOR" in self.env
            or self.env.get("TERM") == "dumb"
            or not self.out.isatty()
        )

    def info(self, message: str) -> None:
        """A message for people (stderr), silenced by --quiet."""
        if not self.quiet:
            print(message, file=self.err)

    def warn(self, message: str) -> None:
        if not self.quiet:
            print(f"warning: {message}", file=self.err)

    # --- cache ---------------------------------------------------------------------------

    def cache(self) -> Cache | None:
        """The Redis cache for this command, or None (not configured, --no-cache, or Redis
        failed earlier in this command)."""
        if self._cache_off or self.no_cache:
            return None
        redis_url = self.settings.values.get("redis_url")
        if not redis_url:
            return None
        if self._cache is None:
            from assetctl.cache import Cache

            ttl = int(self.settings.values["cache_ttl"])
            self._cache = Cache(str(redis_url), self.settings.database_url, ttl)
        return self._cache

    def cache_failed(self, problem: Exception) -> None:
        """Stop using Redis for the rest of this command, with one warning."""
        if not self._cache_off:
            self._cache_off = True
            self.warn(f"{problem}; answering from the database")

    def _bump_after_commit(self, db_id: str | None, which: str) -> None:
        from assetctl.cache import CacheUnavailable

        cache = self.cache()
        if cache is None or db_id is None:
            return
        try:
            cache.bump(db_id, which)
        except CacheUnavailable as exc:
            self.cache_failed(exc)

    def _db_id(self, session: Session) -> str | None:
        if self.cache() is None:
            return None
        from assetctl.db.identity import database_identity

        return database_identity(session)

    def token_store(self) -> TokenStore:
        from assetctl.credentials import TokenStore

        return TokenStore(self.env, self.settings)

    def principal(self, session: Session, permission: Permission | None = None) -> Principal:
        """The logged-in caller, checked against the database, and allowed `permission`."""
        from assetctl.core.auth.accounts import authenticate, require

        caller = authenticate(session, self.settings, self.token_store().load().token)
        if permission is not None:
            require(caller, permission)
        return caller

    def optional_principal(self, session: Session) -> Principal | None:
        """The caller if a valid session exists, else None (bootstrap registration)."""
        try:
            return self.principal(session)
        except NotAuthenticatedError:
            return None

    def authorize(self, session: Session, permission: Permission) -> str:
        """Who is acting (their email, for history), after checking they may do it."""
        return self.principal(session, permission).email

    def as_principal(
        self,
        fn: Callable[..., T],
        *args: Any,
        write: bool = True,
        required: bool = True,
        **kwargs: Any,
    ) -> T:
        """Run core `fn(session, principal, *args)` in one transaction; `fn` checks the role.
        With `required=False` the principal is None when nobody is logged in."""
        with self.transaction(write=write) as session:
            caller = self.principal(session) if required else self.optional_principal(session)
            result = fn(session, caller, *args, **kwargs)
            db_id = self._db_id(session) if write else None
        # Sessions, roles or users may have changed: no cached session check may survive.
        self._bump_after_commit(db_id, "auth")
        return result

    def write(
        self,
        fn: Callable[..., T],
        *args: Any,
        permission: Permission = Permission.WRITE,
        changes_data: bool = True,
        **kwargs: Any,
    ) -> T:
        """Run core `fn(session, actor, *args)` as one write transaction. Cached listings
        are invalidated after the commit unless `changes_data` is off (a dry run)."""
        with self.transaction(write=True) as session:
            actor = self.authorize(session, permission)
            result = fn(session, actor, *args, **kwargs)
            db_id = self._db_id(session) if changes_data else None
        # Only after the commit: a reader that raced this write stored its page under the
        # old generation, which is now unreachable.
        self._bump_after_commit(db_id, "data")
        return result

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run core `fn(session, *args)` as one read transaction."""
        with self.reading() as session:
            return fn(session, *args, **kwargs)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read transaction that stays open while the caller streams results."""
        with self.transaction() as session:
            self.authorize(session, Permission.READ)
            yield session

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """One unit of work against the configured database; the embedded default database
        is created and migrated on first use so a new user can start at once."""
        from assetctl.core.security.notify import due_deliveries, retry_due
        from assetctl.db.engine import unit_of_work

        self._ensure_default_database()
        with unit_of_work(self.settings.database_url, write=write) as session:
            yield session
            due = due_deliveries(session)  # one indexed query; never raises
        if due:
            # Security alert notifications that failed earlier: retried after the commit,
            # a few at a time with short timeouts; never raises.
            retry_due(self.settings, due)

    def _ensure_default_database(self) -> None:
        settings = self.settings
        if not settings.uses_default_database:
            return
        path = settings.database_url.removeprefix("sqlite:///")
        if os.path.exists(path):
            return
        from assetctl.db.migrate import upgrade

        upgrade(settings.database_url)
        self.info(f"Created a new inventory database at {path}")


def get_state(ctx: Any) -> AppState:
    """The AppState of a Typer/click context (created by the root callback)."""
    state = ctx.find_root().obj
    if not isinstance(state, AppState):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("assetctl state missing from the command context")
    return state
