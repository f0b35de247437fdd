"""Engine and unit-of-work factory.

One command = one transaction: `unit_of_work()` yields a Session, commits once on success and
rolls back on any error. Connectivity and schema-state failures become ServiceUnavailableError
(exit 7) with the URL's password masked; other database failures users can act on are
classified in `failures.py`. SQL parameters are never part of an error's text.

No command can hang on the database: every PostgreSQL connection has TCP keepalives, a
statement timeout and a lock timeout, and waits for the server's reply at most the statement
timeout plus a grace period (`_wait_for_server`), so a server that stops answering is exit 7.
On SQLite the lock timeout is the busy timeout and a progress handler enforces the statement
timeout.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from assetctl.config_values import mask_url
from assetctl.db.refusals import refusal
from assetctl.db.schema_version import HEAD_REVISION
from assetctl.errors import (
    AssetctlError,
    InvalidInputError,
    PermissionDeniedError,
    ServiceUnavailableError,
)

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_S = 30.0
LOCK_TIMEOUT_S = 10.0
# How much longer than the statement timeout a silent server is waited for: the server
# cancels a slow statement itself, so silence beyond this means it is not answering at all.
REPLY_GRACE_S = 5.0
KEEPALIVE_IDLE_S = 30


@contextmanager
def raw_cursor(session: Session) -> Iterator[Any]:
    """A DB-API cursor on the session's connection, inside its transaction (for what the
    ORM cannot do: COPY on PostgreSQL). psycopg2 cannot COPY through a wait callback, so
    the reply timeout is suspended meanwhile (the statement timeout still applies)."""
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    suspended = None
    if session.get_bind().dialect.name == "postgresql":
        import psycopg2.extensions

        suspended = psycopg2.extensions.get_wait_callback()
        psycopg2.extensions.set_wait_callback(None)
    try:
        yield cursor
    finally:
        cursor.close()
        if suspended is not None:
            import psycopg2.extensions

            psycopg2.extensions.set_wait_callback(suspended)


def describe_target(url: str) -> str:
    """Human description of where the database is, password masked."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - any parse failure is reported the same way
        return "<invalid database URL>"
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database or ':memory:'}"
    host = parsed.host or "localhost"
    port = parsed.port or 5432
    return f"PostgreSQL at {host}:{port} (database {parsed.database}, URL {mask_url(url)})"


def create_db_engine(
    url: str,
    *,
    write: bool = False,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> Engine:
    """Build an engine for `url`. On SQLite, `write=True` makes every transaction
    `BEGIN IMMEDIATE`, so concurrent writers queue instead of failing mid-transaction.
    A timeout of 0 means none."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - the parser's message would quote the password
        raise InvalidInputError(f"invalid database URL {mask_url(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            _create_private(Path(path))
        engine = create_engine(
            url, connect_args={"timeout": lock_timeout_s or 1e9}, hide_parameters=True
        )
        _configure_sqlite(engine, write=write)
        if statement_timeout_s:
            _limit_sqlite_statements(engine, statement_timeout_s)
        return engine
    options = f"-c statement_timeout={int(statement_timeout_s * 1000)}"
    options += f" -c lock_timeout={int(lock_timeout_s * 1000)}"
    given = parsed.query.get("options")
    connect_args: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "assetctl",
        "options": f"{given} {options}" if isinstance(given, str) else options,
        # A peer that vanished (host down, NAT dropped the flow) is noticed in about a minute.
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_S,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    _wait_for_server(statement_timeout_s + REPLY_GRACE_S if statement_timeout_s else None)
    target: Any = url
    if parsed.get_driver_name() == "psycopg2":
        from assetctl.db import pg_dialect

        # The same driver, with a first connection of one round trip instead of nine.
        pg_dialect.register()
        target = parsed.set(drivername=pg_dialect.NAME.replace(".", "+"))
    # No reset on return: every command's unit of work has already committed or rolled back,
    # and the engine is disposed right after; a reset of a connection that a failed COPY left
    # mid-command would only log a traceback.
    return create_engine(
        target,
        connect_args=connect_args,
        pool_pre_ping=False,
        pool_reset_on_return=None,
        hide_parameters=True,
    )


def _local_path(url: str) -> str | None:
    return sqlite_path(url) if make_url(url).get_backend_name() == "sqlite" else None


def sqlite_path(url: str) -> str | None:
    """The file a SQLite URL names (also in its `file:` URI form), None for memory."""
    from urllib.parse import unquote, urlsplit

    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    if not database.startswith("file:"):
        return database
    path = unquote(urlsplit(database).path)
    return path or None


# Seconds a reply may take; None waits forever. One value per process: the CLI runs one
# command, with one configuration.
_reply_timeout: list[float | None] = [None]


def _wait_for_server(reply_timeout_s: float | None) -> None:
    """Make psycopg2 wait for the server through `_wait` (its documented wait-callback
    hook), which gives up after `reply_timeout_s` of silence (CONNECT_TIMEOUT_S while
    connecting): libpq itself would wait for a reply forever."""
    import psycopg2.extensions

    _reply_timeout[0] = reply_timeout_s
    psycopg2.extensions.set_wait_callback(_wait)


def _wait(conn: Any) -> None:
    import select

    import psycopg2
    import psycopg2.extensions as ext

    connected = conn.status in (ext.STATUS_READY, ext.STATUS_BEGIN, ext.STATUS_PREPARED)
    timeout = _reply_timeout[0] if connected else CONNECT_TIMEOUT_S
    while True:
        state = conn.poll()
        if state == ext.POLL_OK:
            return
        fd = conn.fileno()
        reading = state == ext.POLL_READ
        ready = select.select([fd] if reading else [], [] if reading else [fd], [], timeout)
        if not (ready[0] or ready[1]):
            # An OperationalError, so SQLAlchemy reports it like any lost connection.
            raise psycopg2.OperationalError(
                f"the server did not answer within {timeout:g} s (connection timed out)"
            )


def _create_private(path: Path) -> None:
    """Create a new SQLite file 0600 (in a 0700 directory when we make it): on SQLite the
    file's permissions are the whole security boundary. SQLite gives the -wal and -shm files
    the database file's mode. An existing file is left as its owner set it."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError:
        pass  # unwritable directory and the like: SQLite reports it in its own words


def _configure_sqlite(engine: Engine, *, write: bool) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot do BEGIN IMMEDIATE; take
    # control of it as SQLAlchemy's documentation recommends.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        # SQLite's lower() folds ASCII only, so ILIKE (lower(x) LIKE lower(y)) would miss
        # "Müller" for "MÜLLER"; Python's folds every script, as PostgreSQL's does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _limit_sqlite_statements(engine: Engine, timeout_s: float) -> None:
    """SQLite's statement timeout: a progress handler interrupts a statement that runs past
    its deadline (SQLite then raises "interrupted", which `failures` reports as exit 7)."""
    import time

    deadline = [float("inf")]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Every 100,000 virtual-machine steps: a few milliseconds of work.
        dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline[0], 100_000)

    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(*_args: Any) -> None:
        deadline[0] = time.monotonic() + timeout_s


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def unavailable(url: str, exc: BaseException) -> ServiceUnavailableError:
    """Turn a driver connection failure into a one-line exit-7 error."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = reason[0] if reason else type(exc).__name__
    return ServiceUnavailableError(
        f"cannot reach the database: {describe_target(url)}: {first}",
        hint="check ASSETCTL_DATABASE_URL and that the server is running (`assetctl doctor`)",
    )


def current_revision(conn: Any) -> str | None:
    """The Alembic revision stamped in the database, or None when it was never migrated."""
    try:
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, DBAPIError) as exc:
        # A missing table is "not migrated"; anything else is a real failure.
        message = str(exc.orig).lower()
        if "alembic_version" in message and (
            "no such table" in message or "does not exist" in message
        ):
            return None
        raise
    return None if row is None else str(row[0])


def check_schema(conn: Any, url: str) -> None:
    """Raise ServiceUnavailableError unless the database is at this release's head revision."""
    revision = current_revision(conn)
    if revision == HEAD_REVISION:
        return
    if revision is None:
        raise ServiceUnavailableError(
            f"the database ({describe_target(url)}) has not been migrated",
            hint="run `assetctl db upgrade` (or `assetctl init`)",
        )
    from assetctl.db.migrate import is_known, unknown_revision

    if not is_known(revision):
        raise unknown_revision(revision)
    raise ServiceUnavailableError(
        f"the database schema is at revision {revision}, this assetctl needs {HEAD_REVISION}",
        hint="run `assetctl db upgrade`",
    )


@contextmanager
def unit_of_work(
    url: str,
    *,
    write: bool = False,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> Iterator[Session]:
    """One transaction for one command: committed once on success, rolled back otherwise.

    The schema revision is checked first, so a data command against an unmigrated
    database fails with exit 7 before touching anything.
    """
    from assetctl.db.failures import classify

    engine = create_db_engine(
        url, write=write, statement_timeout_s=statement_timeout_s, lock_timeout_s=lock_timeout_s
    )
    try:
        session = Session(engine, expire_on_commit=False)
        try:
            check_schema(session.connection(), url)
        except BaseException as exc:
            # Hand the connection back now: left to the garbage collector, it is reset
            # later, maybe after its database is gone, and that logs a traceback into
            # whatever command runs then.
            session.close()
            if not isinstance(exc, DBAPIError):
                raise
            # Connecting and reading the schema version: any driver error here (refused,
            # "file is not a database", ...) means the database is unusable, not a bug,
            # unless the login may not even read it (no assetctl group role yet).
            if refusal(exc) is not None:
                raise PermissionDeniedError(
                    "the database refused: your login may not read this assetctl database "
                    "(it holds no assetctl group role)",
                    hint="an admin runs `assetctl user add-login LOGIN --role ROLE --user EMAIL`",
                ) from None
            raise (
                classify(exc, describe_target(url), statement_timeout_s, _local_path(url))
                or unavailable(url, exc)
            ) from exc
        with session:
            try:
                yield session
                session.commit()
            except AssetctlError as exc:
                if exc.commit_before_raising:
                    session.commit()
                else:
                    session.rollback()
                raise
            except BaseException:
                _rollback_or_drop(session)
                raise
    except SQLAlchemyError as exc:
        if isinstance(exc, DBAPIError):
            known = classify(exc, describe_target(url), statement_timeout_s, _local_path(url))
            if known is not None:
                raise known from exc
        if isinstance(exc, OperationalError) and _is_connection_error(exc):
            raise unavailable(url, exc) from exc
        refused = refusal(exc)
        if refused is not None:  # the database's privileges said no: exit 5, one sentence
            raise refused from None
        raise
    finally:
        engine.dispose()


def _rollback_or_drop(session: Session) -> None:
    """Roll back after a failure; if the connection cannot even do that (a COPY cut short by
    a full disk leaves it mid-command), drop it, so the pool does not log a reset traceback
    and the first error is the one reported."""
    try:
        session.rollback()
    except SQLAlchemyError:
        with contextlib.suppress(SQLAlchemyError):
            session.connection().invalidate()


def _is_connection_error(exc: OperationalError) -> bool:
    return bool(exc.connection_invalidated) or "connection" in str(exc.orig).lower()
