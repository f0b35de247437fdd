"""Helpers for the audit tests: a seeded floor, direct reads of the audit tables, and a
snapshot of everything an audit command may write (for "nothing was written")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from assetctl.db.tables import metadata

from .asset_fixtures import connect, insert_assets, snapshot
from .conftest import Cli

AUDIT_TABLES = ("audit_sessions", "audit_expected", "audit_found", "audit_scans")


def seed_floor(cli: Cli) -> None:
    """Berlin holds three laptops (one assigned) and a monitor; a monitor is in Hamburg; a
    deleted laptop was in Berlin."""
    insert_assets(
        cli.env["ASSETCTL_DATABASE_URL"],
        [
            {"tag": "LAP-1", "name": "ThinkPad 1", "category": "laptop", "serial": "SER-1",
             "location": "Berlin"},
            {"tag": "LAP-2", "name": "ThinkPad 2", "category": "laptop", "serial": "SER-2",
             "location": "Berlin"},
            {"tag": "LAP-3", "name": "ThinkPad 3", "category": "laptop", "location": "Berlin",
             "status": "assigned", "assignee": "bob@example.com"},
            {"tag": "MON-1", "name": "Monitor 1", "category": "monitor", "location": "Berlin"},
            {"tag": "MON-9", "name": "Monitor 9", "category": "monitor", "location": "Hamburg"},
            {"tag": "OLD-1", "name": "Gone", "category": "laptop", "location": "Berlin",
             "deleted_at": datetime(2026, 2, 1, tzinfo=UTC)},
        ],
    )  # fmt: skip


def start(cli: Cli, *args: str) -> int:
    result = cli.ok("audit", "start", *args, "-o", "json")
    return int(result.json()["id"])


def table_rows(url: str, table: str) -> list[dict[str, Any]]:
    t = metadata.tables[table]
    with connect(url) as conn:
        stmt = select(t).order_by(*t.primary_key.columns)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def everything(url: str) -> tuple[Any, ...]:
    """Assets, history and every audit table: what a refused command must leave alone."""
    assets, events = snapshot(url)
    return (assets, events, *(sorted(map(repr, table_rows(url, t))) for t in AUDIT_TABLES))
