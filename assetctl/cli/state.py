"""Per-invocation state shared by every command: its I/O streams (`IOStreams`), the lazy
factory of its dependencies (`Factory`), the global flags, and the runner that gives core
functions one transaction and the logged-in caller (`AppState`).

Nothing is built at import time; settings are read on first use so `--help` never touches the
config file or the database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TextIO, TypeVar

from assetctl.errors import NotAuthenticatedError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.cache import Cache
    from assetctl.config import Settings
    from assetctl.core.auth.permissions import Principal
    from assetctl.credentials import TokenStore

T = TypeVar("T")
P = ParamSpec("P")


@dataclass
class IOStreams:
    """Where a command's output goes, and how it may look there (after gh's IOStreams):
    data to `out`, messages for people to `err`. Tests inject their own streams."""

    env: Mapping[str, str]
    stdout: TextIO | None = None
    stderr: TextIO | None = None
    quiet: bool = False
    no_color: bool = False

    @property
    def out(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self.stderr or sys.stderr

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never with NO_COLOR, TERM=dumb or --no-color."""
        return not (
            self.no_color
            or "NO_COLOR" in self.env
            or self.env.get("TERM") == "dumb"
            or not self.out.isatty()
        )

    def say(self, message: str) -> None:
        """A message for people on stderr, even under --quiet (errors). Messages quote
        stored data (tags, file names, server replies), so every line shows invisible
        characters as escapes."""
        from assetctl.json_values import visible_lines

        print(visible_lines(message), file=self.err)

    def info(self, message: str) -> None:
        """A message for people (stderr), silenced by --quiet."""
        if not self.quiet:
            self.say(message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.say(f"warning: {message}")


@dataclass
class Factory:
    """The lazily built dependencies of one command (after gh's Factory): settings, the
    Redis cache and the token store, each built on first use, so `--help` never reads the
    config file and a command that needs no cache never imports redis."""

    env: Mapping[str, str]
    io: IOStreams
    profile: str | None = None
    no_cache: bool = False
    _settings: Settings | None = None
    _cache: Cache | None = None
    _cache_off: bool = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from assetctl.config import load_settings

            self._settings = load_settings(self.env, profile=self.profile)
        return self._settings

    def token_store(self) -> TokenStore:
        from assetctl.credentials import TokenStore

        return TokenStore(self.env, self.settings)

    def cache(self) -> Cache | None:
        """The Redis cache for this command, or None (not configured, --no-cache, or Redis
        failed earlier in this command)."""
        if self._cache_off or self.no_cache:
            return None
        redis_url = self.settings.values.get("redis_url")
        if not redis_url or not self.settings.database_url.startswith("postgres"):
            # The cache serves PostgreSQL only: its generation and session check live there.
            return None
        if self._cache is None:
            from assetctl.cache import Cache

            self._cache = Cache(str(redis_url), int(self.settings.values["cache_ttl"]))
        return self._cache

    def cache_failed(self, problem: Exception) -> None:
        """Stop using Redis for the rest of this command, with one warning."""
        if not self._cache_off:
            self._cache_off = True
            self.io.warn(f"{problem}; answering from the database")


class Changes(Protocol):
    """A result that says whether its command changed anything."""

    @property
    def wrote(self) -> bool: ...


C = TypeVar("C", bound=Changes)


class Effect(Enum):
    """What a command's transaction does, and which cached answers that makes stale (the
    database itself bumps the generation of what a transaction changes: `stales` says
    which one for readers of the code)."""

    READ = (False, None)
    RECORD = (True, None)  # writes nothing a cached answer holds (an alert ack, a dry run)
    DATA = (True, "data")  # changes assets: every cached listing is stale
    AUTH = (True, "auth")  # changes users, sessions or roles: every cached session check is

    @property
    def write(self) -> bool:
        return bool(self.value[0])

    @property
    def stales(self) -> str | None:
        return self.value[1]  # type: ignore[no-any-return]


@dataclass
class AppState:
    """One invocation: its streams, its lazily built dependencies, the global flags, and
    the way every command runs core code (`run`: one transaction as the logged-in caller)."""

    io: IOStreams
    factory: Factory
    verbose: bool = False
    debug: bool = False
    # Set when a command already told the user why it exits with a non-zero status.
    explained_exit: bool = False
    _due_deliveries: set[int] = field(default_factory=set)

    @classmethod
    def create(
        cls,
        env: Mapping[str, str] | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> AppState:
        environ = dict(os.environ if env is None else env)
        io = IOStreams(environ, stdout, stderr)
        return cls(io, Factory(environ, io))

    def caller(self, session: Session) -> Principal:
        """The logged-in caller, checked against the database (session valid, not revoked,
        user active). What the caller may do is checked by the core function it calls."""
        from assetctl.core.auth.accounts import authenticate

        return authenticate(session, self.factory.settings, self.factory.token_store().load().token)

    def run(
        self,
        effect: Effect,
        fn: Callable[Concatenate[Session, Principal, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run core `fn(session, caller, *args)` as one transaction of the logged-in caller.
        Cached answers it makes stale need nothing from here: the database bumps the cache
        generation inside the transaction that changes `assets` (db/pg_cache.py)."""
        with self.transaction(write=effect.write) as session:
            return fn(session, self.caller(session), *args, **kwargs)

    def run_changes(
        self,
        effect: Effect,
        fn: Callable[Concatenate[Session, Principal, P], C],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> C:
        """As `run`, for a write that may turn out to change nothing (an import run again;
        one that wrote no row leaves the cache generation alone)."""
        with self.transaction(write=effect.write) as session:
            return fn(session, self.caller(session), *args, **kwargs)

    def run_bootstrap(
        self,
        effect: Effect,
        fn: Callable[Concatenate[Session, Principal | None, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """As `run`, but with caller None when nobody is logged in (the first user)."""
        with self.transaction(write=effect.write) as session:
            try:
                caller: Principal | None = self.caller(session)
            except NotAuthenticatedError:
                caller = None
            return fn(session, caller, *args, **kwargs)

    @contextmanager
    def reading(self) -> Iterator[tuple[Session, Principal]]:
        """A read transaction of the logged-in caller that stays open while the command
        streams results."""
        with self.transaction() as session:
            yield session, self.caller(session)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """One unit of work against the configured database; the embedded default database
        is created and migrated on first use so a new user can start at once. It also notes
        the alert deliveries due for a retry (one indexed query), which `after_command`
        sends."""
        from assetctl.core.security.due import due_deliveries
        from assetctl.db.engine import unit_of_work

        self._ensure_default_database()
        settings = self.factory.settings
        with unit_of_work(
            settings.database_url,
            write=write,
            statement_timeout_s=float(settings.values["db_statement_timeout"]),
            lock_timeout_s=float(settings.values["db_lock_timeout"]),
        ) as session:
            yield session
            due = due_deliveries(session)  # never raises
        self._due_deliveries.update(due)

    def after_command(self) -> None:
        """The step after every command: security alert notifications that failed earlier
        are retried, a few at a time with short timeouts. Never raises."""
        if self._due_deliveries:
            from assetctl.core.security.notify import retry_due

            retry_due(self.factory.settings, sorted(self._due_deliveries))
            self._due_deliveries.clear()

    def _ensure_default_database(self) -> None:
        settings = self.factory.settings
        if not settings.uses_default_database:
            return
        path = settings.database_url.removeprefix("sqlite:///")
        if os.path.exists(path):
            return
        from assetctl.db.migrate import upgrade

        upgrade(settings.database_url)
        self.io.info(f"Created a new inventory database at {path}")


def get_state(ctx: Any) -> AppState:
    """The AppState of a Typer/click context (created by the root callback)."""
    state = ctx.find_root().obj
    if not isinstance(state, AppState):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("assetctl state missing from the command context")
    return state
