"""Alembic environment.

Run from `assetctl db upgrade`, the caller passes an open connection in
`config.attributes["connection"]`. Run from the `alembic` command line, the URL comes from
assetctl's settings (flags aside), so both paths migrate the same database.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from assetctl.db.tables import metadata

target_metadata = metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    from assetctl.config import load_settings

    context.configure(
        url=load_settings(os.environ).database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from assetctl.config import load_settings
    from assetctl.db.engine import create_db_engine

    # No statement timeout, as `assetctl db upgrade`: building an index may take minutes.
    engine = create_db_engine(
        load_settings(os.environ).database_url, write=True, statement_timeout_s=0
    )
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
