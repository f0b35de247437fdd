"""Engine and unit-of-work factory.

One command = one transaction: `unit_of_work()` yields a Session, commits once on success and
rolls back on any error. Connectivity and schema-state failures become ServiceUnavailableError
(exit 7) with the URL's password masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from assetctl.config_values import mask_url
from assetctl.db.schema_version import HEAD_REVISION
from assetctl.errors import AssetctlError, InvalidInputError, ServiceUnavailableError

CONNECT_TIMEOUT_S = 5
SQLITE_BUSY_TIMEOUT_S = 30


@contextmanager
def raw_cursor(session: Session) -> Iterator[Any]:
    """A DB-API cursor on the session's connection, inside its transaction (for what the
    ORM cannot do: COPY on PostgreSQL)."""
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


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


def create_db_engine(url: str, *, write: bool = False) -> Engine:
    """Build an engine for `url`. On SQLite, `write=True` makes every transaction
    `BEGIN IMMEDIATE`, so concurrent writers queue instead of failing mid-transaction."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001
        raise InvalidInputError(f"invalid database URL {mask_url(url)}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _configure_sqlite(engine, write=write)
        return engine
    connect_args: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "assetctl",
    }
    return create_engine(url, connect_args=connect_args, pool_pre_ping=False)


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


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def unavailable(url: str, exc: BaseException) -> ServiceUnavailableError:
    """Turn a driver connection failure into a one-line exit-7 error."""
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()
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
    raise ServiceUnavailableError(
        f"the database schema is at revision {revision}, this assetctl needs {HEAD_REVISION}",
        hint="run `assetctl db upgrade`; if the database is newer, upgrade assetctl instead",
    )


@contextmanager
def unit_of_work(url: str, *, write: bool = False) -> Iterator[Session]:
    """One transaction for one command: committed once on success, rolled back otherwise.

    The schema revision is checked first, so a data command against an unmigrated
    database fails with exit 7 before touching anything.
    """
    engine = create_db_engine(url, write=write)
    try:
        session = Session(engine, expire_on_commit=False)
        try:
            check_schema(session.connection(), url)
        except BaseException as exc:
            # Hand the connection back now: left to the garbage collector, it is reset
            # later, maybe after its database is gone, and that logs a traceback into
            # whatever command runs then.
            session.close()
            if isinstance(exc, DBAPIError):
                # Connecting and reading the schema version: any driver error here (refused,
                # "file is not a database", ...) means the database is unusable, not a bug.
                raise unavailable(url, exc) from exc
            raise
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
                session.rollback()
                raise
    except SQLAlchemyError as exc:
        if isinstance(exc, OperationalError) and _is_connection_error(exc):
            raise unavailable(url, exc) from exc
        raise
    finally:
        engine.dispose()


def _is_connection_error(exc: OperationalError) -> bool:
    return bool(exc.connection_invalidated) or "connection" in str(exc.orig).lower()
