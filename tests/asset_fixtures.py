"""Helpers for the asset test modules: direct database access to seed rows fast and to prove
that a failed command wrote nothing.

Seeding goes through SQLAlchemy core (one executemany) instead of hundreds of CLI calls, and
mirrors what `asset add` writes: the asset row at version 1 plus its "created" event.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, create_engine, func, select

from assetctl.db.tables import metadata

from . import conftest
from .conftest import Cli, CliResult

ASSET_JSON_FIELDS = [
    "id",
    "tag",
    "name",
    "category",
    "status",
    "serial",
    "manufacturer",
    "model",
    "location",
    "assignee",
    "purchase_date",
    "purchase_cost",
    "warranty_until",
    "description",
    "description_source",
    "notes",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "hostname",
    "hardware_uuid",
    "os",
    "mac_addresses",
    "last_audited_at",
    "audited_by",
]
ASSETS = metadata.tables["assets"]
EVENTS = metadata.tables["asset_events"]
SEED_ACTOR = "seeder"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def expected_actor(cli: Cli) -> str:
    """Who history should name: the logged-in user once authentication is in place (the
    `cli` fixture logs in through ASSETCTL_TOKEN), the OS user name before that."""
    admin = getattr(conftest, "ADMIN_EMAIL", None)
    if admin is not None and cli.env.get("ASSETCTL_TOKEN"):
        return str(admin)
    return getpass.getuser()


@contextmanager
def connect(db_url: str) -> Iterator[Connection]:
    """A connection in a transaction committed at the end (SQLAlchemy core, no CLI)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def insert_assets(db_url: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert assets (keys as the model's columns; tag/name/category required) and their
    "created" events, exactly as `asset add` would have stored them."""
    table, events = ASSETS, EVENTS
    full = []
    for row in rows:
        values: dict[str, Any] = {
            "status": "in_stock",
            "version": 1,
            "created_at": EPOCH,
            "updated_at": EPOCH,
            "created_by": SEED_ACTOR,
            "updated_by": SEED_ACTOR,
            **row,
        }
        values["updated_at"] = row.get("updated_at", values["created_at"])
        full.append(values)
    columns = {column.name for column in table.columns} - {"id"}
    with connect(db_url) as conn:
        if conn.dialect.name == "postgresql":
            # Seed rows arrive with their events below: keep the history trigger out of it.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        normalised = [{c: values.get(c) for c in columns} for values in full]
        conn.execute(table.insert(), normalised)
        ids = dict(
            conn.execute(select(table.c.tag, table.c.id).where(table.c.deleted_at.is_(None))).all()
        )
        conn.execute(
            events.insert(),
            [
                {
                    "asset_id": ids[values["tag"]],
                    "action": "created",
                    "actor": SEED_ACTOR,
                    "at": values["created_at"],
                    "changes": {
                        key: {"old": None, "new": _jsonable(values[key])}
                        for key in ("tag", "name", "category", "status")
                    },
                }
                for values in full
                if values.get("deleted_at") is None
            ],
        )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def snapshot(db_url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every asset row and every event row, for "nothing was written" assertions."""
    table, events = ASSETS, EVENTS
    with connect(db_url) as conn:
        assets = [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
        history = [dict(r) for r in conn.execute(select(events).order_by(events.c.id)).mappings()]
    return assets, history


def counts(db_url: str) -> tuple[int, int]:
    with connect(db_url) as conn:
        n_assets = conn.execute(select(func.count()).select_from(ASSETS)).scalar_one()
        n_events = conn.execute(select(func.count()).select_from(EVENTS)).scalar_one()
    return int(n_assets), int(n_events)


def events_of(db_url: str, tag: str) -> list[dict[str, Any]]:
    """Events of every asset (live or deleted) that has carried `tag`, oldest first."""
    table, events = ASSETS, EVENTS
    with connect(db_url) as conn:
        stmt = (
            select(events)
            .join(table, table.c.id == events.c.asset_id)
            .where(table.c.tag == tag)
            .order_by(events.c.id)
        )
        return [dict(r) for r in conn.execute(stmt).mappings()]


def stderr_line(result: CliResult) -> str:
    """The error line of a failed command (the first line on stderr), checked to be one line
    and free of tracebacks."""
    assert result.stdout == "", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "no message on stderr"
    assert lines[0].startswith("error: "), result.stderr
    # One sentence of error, optionally followed by one hint line.
    assert len(lines) <= 2, result.stderr
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), result.stderr
    return lines[0]


def error_json(result: CliResult) -> dict[str, Any]:
    """The `{"error": {...}}` object a `-o json` command prints on stderr."""
    assert result.stdout == "", result.stdout
    payload = json.loads(result.stderr.strip().splitlines()[-1])
    assert set(payload) == {"error"}, payload
    error: dict[str, Any] = payload["error"]
    return error
