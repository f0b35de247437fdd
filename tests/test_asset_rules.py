"""Issue 2, item 4: the asset commands and their rules, on SQLite and PostgreSQL.

Every test runs twice through the `cli` fixture (SQLite file, real PostgreSQL database).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import IntegrityError

from .asset_fixtures import (
    ASSET_JSON_FIELDS,
    ASSETS,
    EPOCH,
    counts,
    events_of,
    expected_actor,
    snapshot,
    stderr_line,
)
from .conftest import Cli, add_args


def add(cli: Cli, tag: str, **fields: str) -> dict[str, Any]:
    record: dict[str, Any] = cli.ok(*add_args(tag, **fields), "-o", "json").json()
    return record


def show(cli: Cli, ref: str, *extra: str) -> dict[str, Any]:
    record: dict[str, Any] = cli.ok("asset", "show", ref, *extra, "-o", "json").json()
    return record


def history(cli: Cli, ref: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = cli.ok("asset", "history", ref, "-o", "json").json()
    return events


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value  # RFC 3339 UTC
    return datetime.fromisoformat(value)


# --- add / show / list -----------------------------------------------------------------------


def test_add_returns_every_field_in_design_order(cli: Cli) -> None:
    record = add(
        cli,
        "LAP-0001",
        name="ThinkPad T14",
        category="Laptop",
        serial="SN-1",
        manufacturer="Lenovo",
        model="T14 Gen 4",
        location="Berlin",
        purchase_date="2025-03-31",
        purchase_cost="1299.50",
        warranty_until="2028-03-31",
        notes="spare charger\nin drawer",
    )
    assert list(record) == ASSET_JSON_FIELDS
    assert record["tag"] == "LAP-0001"
    assert record["name"] == "ThinkPad T14"
    assert record["category"] == "laptop"  # stored lower case
    assert record["status"] == "in_stock"
    assert record["serial"] == "SN-1"
    assert record["purchase_date"] == "2025-03-31"
    assert record["purchase_cost"] == 1299.5
    assert record["warranty_until"] == "2028-03-31"
    assert record["notes"] == "spare charger\nin drawer"
    assert record["version"] == 1
    assert record["created_by"] == record["updated_by"] == expected_actor(cli)
    assert record["deleted_at"] is None
    assert record["created_at"] == record["updated_at"]
    parse_time(record["created_at"])
    assert isinstance(record["id"], int)

    assert show(cli, "LAP-0001") == record
    assert show(cli, str(record["id"])) == record
    assert show(cli, f"id:{record['id']}") == record
    listed = cli.ok("asset", "list", "-o", "json").json()
    assert listed["items"] == [record]
    assert listed["next_cursor"] is None


def test_add_statuses(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    record = add(cli, "LAP-1", assignee="alice")
    assert (record["status"], record["assignee"]) == ("assigned", "alice")
    for status in ("in_stock", "in_repair", "retired", "lost"):
        assert add(cli, f"X-{status}", status=status)["status"] == status
    before = snapshot(url)
    result = cli(*add_args("X-1", status="assigned"))
    assert result.exit_code == 2
    assert "assignee" in stderr_line(result)
    result = cli(*add_args("X-1", status="retired", assignee="bob"))
    assert result.exit_code == 6
    assert "retired" in stderr_line(result)
    assert snapshot(url) == before


def test_show_by_numeric_tag_prefers_the_tag(cli: Cli) -> None:
    first = add(cli, "A-1")
    numeric = add(cli, str(first["id"]))  # a tag that looks like the first asset's id
    assert show(cli, str(first["id"]))["id"] == numeric["id"]
    assert show(cli, f"id:{first['id']}")["id"] == first["id"]


# --- uniqueness -------------------------------------------------------------------------------


def test_tag_and_serial_are_unique_among_live_assets(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    add(cli, "A-1", serial="SER-1")
    add(cli, "A-2", serial="SER-2")
    add(cli, "A-3")
    add(cli, "A-4")  # serial absent on many assets: no conflict
    before = snapshot(url)
    for args, field, value in (
        (add_args("A-1", name="Other"), "tag", "A-1"),
        (add_args("A-9", serial="SER-1"), "serial", "SER-1"),
        (["asset", "update", "A-2", "--serial", "SER-1"], "serial", "SER-1"),
        (["asset", "update", "A-2", "--tag", "A-1"], "tag", "A-1"),
        (["asset", "update", "A-3", "--tag", "A-1", "--serial", "SER-9"], "tag", "A-1"),
    ):
        result = cli(*args)
        assert result.exit_code == 6, args
        line = stderr_line(result)
        assert field in line and repr(value) in line, line
    assert snapshot(url) == before


def test_deleted_tag_and_serial_can_be_reused_and_restore_then_conflicts(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    old = add(cli, "REUSE-1", serial="SER-R")
    cli.ok("asset", "delete", "REUSE-1", "--yes")
    new = add(cli, "REUSE-1", serial="SER-R")
    assert new["id"] != old["id"]
    assert show(cli, "REUSE-1")["id"] == new["id"]
    assert show(cli, "REUSE-1", "--deleted")["id"] == old["id"]

    before = snapshot(url)
    result = cli("asset", "restore", "REUSE-1")
    assert result.exit_code == 6
    assert "REUSE-1" in stderr_line(result)
    assert snapshot(url) == before

    # Once the tag is free again, the old asset comes back.
    cli.ok("asset", "update", "REUSE-1", "--tag", "REUSE-2", "--serial", "")
    restored = cli.ok("asset", "restore", "REUSE-1", "-o", "json").json()
    assert restored["id"] == old["id"]
    assert restored["deleted_at"] is None


def test_restore_conflicts_on_serial_too(cli: Cli) -> None:
    add(cli, "A-1", serial="SER-X")
    cli.ok("asset", "delete", "A-1", "--yes")
    add(cli, "A-2", serial="SER-X")
    result = cli("asset", "restore", "A-1")
    assert result.exit_code == 6
    assert "serial" in stderr_line(result) and "SER-X" in result.stderr


# --- update / version / history ---------------------------------------------------------------


def test_update_changes_fields_bumps_version_and_records_old_and_new(cli: Cli) -> None:
    created = add(cli, "UPD-1", location="Berlin", purchase_cost="10")
    updated = cli.ok(
        "asset",
        "update",
        "UPD-1",
        "--location",
        "Paris",
        "--purchase-cost",
        "12.5",
        "--name",
        "Renamed",
        "-o",
        "json",
    ).json()
    assert updated["version"] == created["version"] + 1 == 2
    assert (updated["location"], updated["purchase_cost"], updated["name"]) == (
        "Paris",
        12.5,
        "Renamed",
    )
    assert updated["created_at"] == created["created_at"]
    assert parse_time(updated["updated_at"]) >= parse_time(created["updated_at"])
    assert updated["updated_by"] == expected_actor(cli)

    events = history(cli, "UPD-1")
    assert [e["action"] for e in events] == ["created", "updated"]
    last = events[-1]
    assert last["actor"] == expected_actor(cli)
    parse_time(last["at"])
    assert last["changes"] == {
        "location": {"old": "Berlin", "new": "Paris"},
        "purchase_cost": {"old": "10.00", "new": "12.50"},
        "name": {"old": "Device UPD-1", "new": "Renamed"},
    }
    assert events[0]["changes"]["tag"] == {"old": None, "new": "UPD-1"}

    # Setting the values it already has changes nothing: no event, same version.
    same = cli.ok("asset", "update", "UPD-1", "--location", "Paris", "-o", "json")
    assert same.json()["version"] == 2
    assert "unchanged" in same.stderr
    assert len(history(cli, "UPD-1")) == 2


def test_update_with_an_empty_value_clears_and_records_it(cli: Cli) -> None:
    add(cli, "CLR-1", serial="S-9", purchase_date="2025-01-02")
    updated = cli.ok(
        "asset", "update", "CLR-1", "--serial", "", "--purchase-date", "", "-o", "json"
    ).json()
    assert updated["serial"] is None and updated["purchase_date"] is None
    assert history(cli, "CLR-1")[-1]["changes"] == {
        "serial": {"old": "S-9", "new": None},
        "purchase_date": {"old": "2025-01-02", "new": None},
    }


def test_update_if_version(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    add(cli, "V-1")
    cli.ok("asset", "update", "V-1", "--location", "A", "--if-version", "1")
    before = snapshot(url)
    stale = cli("asset", "update", "V-1", "--location", "B", "--if-version", "1")
    assert stale.exit_code == 6
    line = stderr_line(stale)
    assert "version 2" in line and "1" in line
    assert snapshot(url) == before
    fresh = cli.ok("asset", "update", "V-1", "--location", "C", "--if-version", "2", "-o", "json")
    assert fresh.json()["version"] == 3


def test_update_status_and_its_rules(cli: Cli) -> None:
    add(cli, "ST-1")
    assert (
        cli.ok("asset", "update", "ST-1", "--status", "in_repair", "-o", "json").json()["status"]
        == "in_repair"
    )
    # `assigned` only through `assign` (it needs a person).
    refused = cli("asset", "update", "ST-1", "--status", "assigned")
    assert refused.exit_code == 2
    assert "assign" in stderr_line(refused)
    cli.ok("asset", "assign", "ST-1", "--to", "carol")
    # An assigned asset must be taken back before it changes status.
    busy = cli("asset", "update", "ST-1", "--status", "retired")
    assert busy.exit_code == 6
    assert "carol" in stderr_line(busy)
    assert show(cli, "ST-1")["status"] == "assigned"


# --- assign / unassign --------------------------------------------------------------------------


def test_assign_and_unassign(cli: Cli) -> None:
    add(cli, "AS-1")
    assigned = cli.ok("asset", "assign", "AS-1", "--to", "alice", "-o", "json").json()
    assert (assigned["status"], assigned["assignee"], assigned["version"]) == (
        "assigned",
        "alice",
        2,
    )
    reassigned = cli.ok("asset", "assign", "AS-1", "--to", "bob", "-o", "json").json()
    assert (reassigned["assignee"], reassigned["version"]) == ("bob", 3)
    unassigned = cli.ok("asset", "unassign", "AS-1", "-o", "json").json()
    assert (unassigned["status"], unassigned["assignee"], unassigned["version"]) == (
        "in_stock",
        None,
        4,
    )
    events = history(cli, "AS-1")
    assert [e["action"] for e in events] == ["created", "assigned", "assigned", "unassigned"]
    assert events[1]["changes"] == {
        "assignee": {"old": None, "new": "alice"},
        "status": {"old": "in_stock", "new": "assigned"},
    }
    assert events[2]["changes"] == {"assignee": {"old": "alice", "new": "bob"}}
    assert events[3]["changes"] == {
        "assignee": {"old": "bob", "new": None},
        "status": {"old": "assigned", "new": "in_stock"},
    }


def test_retired_or_lost_cannot_be_assigned_and_unassign_needs_an_assignee(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    add(cli, "GONE-retired", status="retired")
    add(cli, "GONE-lost", status="lost")
    add(cli, "UN-1")
    before = snapshot(url)
    for status in ("retired", "lost"):
        result = cli("asset", "assign", f"GONE-{status}", "--to", "dave")
        assert result.exit_code == 6
        line = stderr_line(result)
        assert f"GONE-{status}" in line and status in line
    result = cli("asset", "unassign", "UN-1")
    assert result.exit_code == 6
    assert "UN-1" in stderr_line(result)
    assert snapshot(url) == before


# --- delete / restore ---------------------------------------------------------------------------


def test_delete_is_soft_and_restore_brings_it_back(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    created = add(cli, "DEL-1")
    deleted = cli.ok("asset", "delete", "DEL-1", "--yes", "-o", "json").json()
    assert deleted["deleted_at"] is not None
    parse_time(deleted["deleted_at"])
    assert deleted["version"] == 2
    assert counts(url)[0] == 1  # the row is still there

    assert cli.ok("asset", "list", "-o", "json").json()["items"] == []
    assert [
        a["tag"] for a in cli.ok("asset", "list", "--deleted", "-o", "json").json()["items"]
    ] == ["DEL-1"]
    missing = cli("asset", "show", "DEL-1")
    assert missing.exit_code == 3
    assert "DEL-1" in stderr_line(missing)
    assert show(cli, "DEL-1", "--deleted")["id"] == created["id"]
    # Changing a deleted asset is "not found", like showing it.
    assert cli("asset", "update", "DEL-1", "--name", "x").exit_code == 3
    assert cli("asset", "delete", "DEL-1", "--yes").exit_code == 3

    restored = cli.ok("asset", "restore", "DEL-1", "-o", "json").json()
    assert restored["deleted_at"] is None and restored["version"] == 3
    assert cli("asset", "restore", "DEL-1").exit_code == 3  # nothing deleted under that tag now

    events = history(cli, "DEL-1")
    assert [e["action"] for e in events] == ["created", "deleted", "restored"]
    assert events[1]["changes"]["deleted_at"]["old"] is None
    assert events[1]["changes"]["deleted_at"]["new"] is not None
    assert events[2]["changes"]["deleted_at"]["new"] is None
    assert all(e["actor"] == expected_actor(cli) for e in events)


def test_history_json_fields_and_history_of_a_deleted_asset(cli: Cli) -> None:
    created = add(cli, "HJ-1")
    (event,) = history(cli, "HJ-1")
    assert list(event) == ["id", "asset_id", "tag", "at", "actor", "action", "changes"]
    assert (event["asset_id"], event["tag"], event["action"]) == (created["id"], "HJ-1", "created")
    assert event["at"] == created["created_at"]
    cli.ok("asset", "delete", "HJ-1", "--yes")
    assert [e["action"] for e in history(cli, "HJ-1")] == ["created", "deleted"]


# --- transactions -------------------------------------------------------------------------------


def test_event_is_written_in_the_same_transaction(cli: Cli) -> None:
    """A write whose history event cannot be stored leaves no trace at all: the asset row
    and the event are committed together or not at all."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    add(cli, "TX-1")
    before = snapshot(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            # An actor longer than the column allows (or NULL on SQLite, which ignores
            # VARCHAR lengths) makes the event INSERT fail after the asset UPDATE ran.
            if conn.dialect.name == "sqlite":
                conn.execute(
                    text(
                        "CREATE TRIGGER no_events BEFORE INSERT ON asset_events "
                        "BEGIN SELECT RAISE(ABORT, 'event insert refused'); END"
                    )
                )
            else:
                conn.execute(
                    text(
                        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$ BEGIN RAISE EXCEPTION 'event insert refused'; END $$"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER no_events BEFORE INSERT ON asset_events "
                        "FOR EACH ROW EXECUTE FUNCTION refuse()"
                    )
                )
        try:
            result = cli("asset", "update", "TX-1", "--location", "Nowhere")
            assert result.exit_code != 0
            assert snapshot(url) == before
            result = cli(*add_args("TX-2"))
            assert result.exit_code != 0
            assert snapshot(url) == before
        finally:
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "DROP TRIGGER no_events"
                        + ("" if conn.dialect.name == "sqlite" else " ON asset_events")
                    )
                )
                if conn.dialect.name != "sqlite":
                    conn.execute(text("DROP FUNCTION refuse()"))
    finally:
        engine.dispose()


def test_every_change_event_matches_the_visible_changes(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    add(cli, "EV-1")
    cli.ok("asset", "update", "EV-1", "--model", "M1")
    cli.ok("asset", "assign", "EV-1", "--to", "erin")
    cli.ok("asset", "unassign", "EV-1")
    cli.ok("asset", "delete", "EV-1", "--yes")
    cli.ok("asset", "restore", "EV-1")
    stored = events_of(url, "EV-1")
    assert [e["action"] for e in stored] == [
        "created",
        "updated",
        "assigned",
        "unassigned",
        "deleted",
        "restored",
    ]
    assert all(e["actor"] == expected_actor(cli) for e in stored)
    assert show(cli, "EV-1")["version"] == 6


# --- database-level guarantees ------------------------------------------------------------------


def _row(tag: str, serial: str | None = None) -> dict[str, Any]:
    return {
        "tag": tag,
        "name": "n",
        "category": "laptop",
        "status": "in_stock",
        "serial": serial,
        "version": 1,
        "created_at": EPOCH,
        "updated_at": EPOCH,
        "created_by": "sql",
        "updated_by": "sql",
    }


def test_partial_unique_indexes_enforce_the_rules_in_the_database(db_url: str) -> None:
    engine = create_engine(db_url)
    table = ASSETS
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                defs: dict[str, str] = dict(
                    conn.execute(
                        text(
                            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'assets'"
                        )
                    ).all()
                )
            assert "UNIQUE" in defs["uq_assets_tag_active"]
            assert "WHERE (deleted_at IS NULL)" in defs["uq_assets_tag_active"]
            assert "UNIQUE" in defs["uq_assets_serial_active"]
            assert "deleted_at IS NULL" in defs["uq_assets_serial_active"]
            assert "serial IS NOT NULL" in defs["uq_assets_serial_active"]
        with engine.begin() as conn:
            conn.execute(insert(table), [_row("SQL-1", "S-1"), _row("SQL-2"), _row("SQL-3")])
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(table), [_row("SQL-1")])
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(table), [_row("SQL-9", "S-1")])
        # A deleted row frees its tag and serial.
        with engine.begin() as conn:
            conn.execute(table.update().where(table.c.tag == "SQL-1").values(deleted_at=EPOCH))
            conn.execute(insert(table), [_row("SQL-1", "S-1")])
            conn.execute(
                table.update()
                .where(table.c.tag == "SQL-1", table.c.deleted_at.is_(None))
                .values(deleted_at=EPOCH)
            )
            conn.execute(insert(table), [_row("SQL-1", "S-1")])
    finally:
        engine.dispose()


def test_an_asset_without_a_description_source_stores_sql_null(cli: Cli, db_url: str) -> None:
    cli.ok(*add_args("LAP-1"))
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            nulls = conn.execute(
                text("SELECT count(*) FROM assets WHERE description_source IS NULL")
            ).scalar_one()
    finally:
        engine.dispose()
    assert nulls == 1
