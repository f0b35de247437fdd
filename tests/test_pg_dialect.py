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


def test_a_connection_sets_up_without_psycopg2_extras(pg_database: str) -> None:
    """SQLAlchemy's per-connection hook (a uuid typecaster, via psycopg2.extras) is left out:
    no column or result is a uuid. A query of every type the schema uses still works."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sqlalchemy import text\n"
        "from assetctl.db.engine import create_db_engine\n"
        "engine = create_db_engine(sys.argv[1])\n"
        "with engine.connect() as conn:\n"
        "    row = conn.execute(text(\"SELECT now(), 1::bigint, 'x'::text, "
        '\'{\\"a\\": 1}\'::json, true, 1.5::float8, current_date")).one()\n'
        "print(row[3], 'psycopg2.extras' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, pg_database], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "{'a': 1} False"
