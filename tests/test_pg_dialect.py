"""The psycopg2 dialect with a cheaper first connection (`assetctl.db.pg_dialect`) must learn
exactly what SQLAlchemy's own set-up learns, from the same server, in fewer round trips."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text

from assetctl.db.engine import create_db_engine
from assetctl.db.pg_dialect import FastSetupDialect

pytestmark = pytest.mark.postgres


def _learned(engine: Any) -> tuple[Any, ...]:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    dialect = engine.dialect
    return (
        dialect.server_version_info,
        dialect.default_schema_name,
        dialect.default_isolation_level,
        dialect._backslash_escapes,
    )


def test_first_connection_learns_what_sqlalchemy_learns(pg_database: str) -> None:
    ours = create_db_engine(pg_database)
    stock = create_engine(pg_database)
    try:
        assert isinstance(ours.dialect, FastSetupDialect)
        assert type(stock.dialect) is not FastSetupDialect
        assert _learned(ours) == _learned(stock)
        assert ours.dialect.driver == "psycopg2"
    finally:
        ours.dispose()
        stock.dispose()


def test_role_default_isolation_is_the_servers(pg_database: str) -> None:
    """The isolation level is read from the server, never assumed: a login whose default
    is SERIALIZABLE is seen as such."""
    url = f"{pg_database}?options=-c%20default_transaction_isolation%3Dserializable"
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            level = conn.execute(text("SHOW transaction_isolation")).scalar()
        assert level == "serializable"
        assert engine.dialect.default_isolation_level == "SERIALIZABLE"
    finally:
        engine.dispose()
