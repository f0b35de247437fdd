"""SQLAlchemy's psycopg2 dialect with a first connection that costs one round trip (and no
psycopg2.extras import).

Every command builds a new engine, so SQLAlchemy's one-time set-up runs on every command:
an hstore type lookup wrapped in BEGIN/ROLLBACK, then `version()`, `current_schema()`, the
isolation level and `standard_conforming_strings`, one query each, again in BEGIN/ROLLBACK:
nine round trips before the first real statement. Here the server version and
`standard_conforming_strings` come from what the server already reported at connection
start-up (libpq's parameter status), and the schema and isolation level from one query
outside a transaction. Nothing is guessed: every value is the server's own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2

NAME = "postgresql.assetctl_psycopg2"


class FastSetupDialect(PGDialect_psycopg2):
    """psycopg2 as usual; only the first-connect queries differ (see the module)."""

    # SQL is compiled exactly as by the parent dialect, so its statement cache applies.
    supports_statement_cache = True

    def __init__(self, **kwargs: Any) -> None:
        # No hstore columns anywhere: the type lookup would be two more round trips.
        kwargs.setdefault("use_native_hstore", False)
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._setup_isolation: str | None = None

    def on_connect(self) -> Any:
        # SQLAlchemy's hook registers psycopg2's uuid typecaster on every connection, which
        # imports psycopg2.extras (~8 M instructions, every command). No column or function
        # result here is of type uuid (ids are text), so there is nothing to convert; the
        # parent's hook still runs for what it does besides (encoding, hstore, json).
        if (
            self.client_encoding is None
            and not self.use_native_hstore
            and self._json_deserializer is None
        ):
            return None
        return super().on_connect()  # type: ignore[no-untyped-call]

    def _get_server_version_info(self, connection: Any) -> Any:
        number = int(connection.connection.dbapi_connection.server_version)
        major = number // 10000
        # 150020 is 15.20; before PostgreSQL 10, 90603 was 9.6.3 (as version() parses).
        if major >= 10:
            return (major, number % 10000)
        return (major, number // 100 % 100, number % 100)

    def _get_default_schema_name(self, connection: Any) -> Any:
        import psycopg2.extensions as ext

        raw = connection.connection.dbapi_connection
        idle = raw.info.transaction_status == ext.TRANSACTION_STATUS_IDLE and not raw.autocommit
        # Outside a transaction: without it psycopg2 sends no BEGIN before the query and
        # SQLAlchemy's ROLLBACK after the set-up has nothing to send either.
        if idle:
            raw.autocommit = True
        try:
            with raw.cursor() as cursor:
                cursor.execute("SELECT current_schema(), current_setting('transaction_isolation')")
                schema, isolation = cursor.fetchone()
        finally:
            if idle:
                raw.autocommit = False
        self._setup_isolation = str(isolation).upper()
        return schema

    def get_default_isolation_level(self, dbapi_conn: Any) -> Any:
        if self._setup_isolation is not None:
            return self._setup_isolation
        return super().get_default_isolation_level(dbapi_conn)  # type: ignore[no-untyped-call]

    def _set_backslash_escapes(self, connection: Any) -> None:
        status = connection.connection.dbapi_connection.get_parameter_status(
            "standard_conforming_strings"
        )
        if status is None:  # a server that does not report it (none we support)
            super()._set_backslash_escapes(connection)  # type: ignore[no-untyped-call]
            return
        self._backslash_escapes = status == "off"


def register() -> None:
    """Make `postgresql+assetctl_psycopg2://` name this dialect (idempotent)."""
    from sqlalchemy.dialects import registry

    registry.register(NAME, __name__, "FastSetupDialect")
