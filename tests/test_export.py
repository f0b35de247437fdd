"""`assetctl asset export`: formats, filters, --safe-csv, and export -> import round trips on
SQLite and PostgreSQL (where CSV comes from COPY TO STDOUT)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from .asset_fixtures import ASSET_JSON_FIELDS, connect, counts, insert_assets
from .conftest import Cli

READ_ONLY = {"id", "version", "created_at", "updated_at", "created_by", "updated_by"}


def seed(db_url: str) -> None:
    """Assets exercising every column and the awkward values: quotes, commas, newlines,
    non-ASCII, formula-like text, zero and large costs, JSON description sources."""
    insert_assets(
        db_url,
        [
            {
                "tag": "A-1",
                "name": 'Laptop "pro", 14"',
                "category": "laptop",
                "status": "assigned",
                "assignee": "zoë@example.com",
                "serial": "SN-1",
                "manufacturer": "Lenovo",
                "model": "T14",
                "location": "Zürich, HQ",
                "purchase_date": date(2024, 2, 29),
                "purchase_cost_cents": 129950,
                "warranty_until": date(2027, 2, 28),
                "description": "A grey laptop.\nSticker on the lid.",
                "description_source": {
                    "provider": "ollama",
                    "model": "llava",
                    "at": "2026-01-02T03:04:05Z",
                },
                "notes": "line one\nline two, with comma",
            },
            {
                "tag": "B-2",
                "name": '=HYPERLINK("http://evil")',
                "category": "monitor",
                "status": "in_repair",
                "purchase_cost_cents": 0,
                "notes": "+1 spare cable",
                "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            },
            {
                "tag": "C-3",
                "name": "@phone",
                "category": "phone",
                "status": "lost",
                "serial": "-SN3",
                "purchase_cost_cents": 99_999_999_999_99,
            },
            {"tag": "D-4", "name": "Dock", "category": "dock", "status": "retired"},
        ],
    )


def export(cli: Cli, *args: str) -> str:
    return cli.ok("asset", "export", *args).stdout


def data_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in READ_ONLY} for row in rows]


def csv_rows(content: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content)))


def normalised(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    out["description_source"] = json.loads(row["description_source"] or "null")
    for key in ("created_at", "updated_at", "deleted_at"):
        if row[key]:
            assert row[key].endswith("Z"), row[key]
            out[key] = datetime.fromisoformat(row[key].removesuffix("Z") + "+00:00")
    return out


def wipe(db_url: str) -> None:
    with connect(db_url) as conn:
        conn.execute(text("DELETE FROM asset_events"))
        conn.execute(text("DELETE FROM assets"))


def test_csv_is_the_default_and_matches_list_csv(cli: Cli, db_url: str) -> None:
    seed(db_url)
    result = cli.ok("asset", "export")
    assert result.stdout.splitlines()[0] == ",".join(ASSET_JSON_FIELDS)
    assert "Exported 4 assets." in result.stderr
    # The PostgreSQL COPY path formats every value as the Python renderer does, except the
    # JSON text of description_source (key spacing) and trailing zeros of fractional seconds.
    listed = cli.ok("asset", "list", "--all", "-o", "csv").stdout
    ours = [normalised(r) for r in csv_rows(result.stdout)]
    theirs = [normalised(r) for r in csv_rows(listed)]
    assert len(ours) == 4
    assert ours == theirs
    first = csv_rows(result.stdout)[0]
    assert json.loads(first["description_source"])["provider"] == "ollama"
    assert first["purchase_cost"] == "1299.50"
    assert csv_rows(result.stdout)[1]["created_at"] == "2026-01-02T03:04:05Z"


def instants(record: dict[str, Any]) -> dict[str, Any]:
    """Timestamps as datetimes: PostgreSQL drops trailing zeros of the fraction."""
    out = dict(record)
    for key in ("created_at", "updated_at", "deleted_at"):
        if out[key] is not None:
            assert out[key].endswith("Z"), out[key]
            out[key] = datetime.fromisoformat(out[key].removesuffix("Z") + "+00:00")
    return out


def test_json_and_jsonl_match_list_json(cli: Cli, db_url: str) -> None:
    seed(db_url)
    cli.ok("asset", "update", "B-2", "--location", "Lab")  # a timestamp with a fraction
    listed = [instants(r) for r in cli.ok("asset", "list", "--all", "-o", "json").json()["items"]]
    exported = json.loads(export(cli, "-o", "json"))
    assert list(exported[0]) == ASSET_JSON_FIELDS
    assert [instants(r) for r in exported] == listed
    lines = export(cli, "-o", "jsonl").splitlines()
    assert [instants(json.loads(line)) for line in lines] == listed
    assert isinstance(exported[0]["purchase_cost"], float)
    assert exported[0]["description_source"]["provider"] == "ollama"


def test_filters_and_sort(cli: Cli, db_url: str) -> None:
    seed(db_url)
    rows = csv_rows(export(cli, "--category", "LAPTOP"))
    assert [r["tag"] for r in rows] == ["A-1"]
    rows = csv_rows(export(cli, "--status", "lost", "-o", "csv"))
    assert [r["tag"] for r in rows] == ["C-3"]
    rows = [json.loads(x) for x in export(cli, "--sort", "tag:desc", "-o", "jsonl").splitlines()]
    assert [r["tag"] for r in rows] == ["D-4", "C-3", "B-2", "A-1"]
    assert [r["tag"] for r in csv_rows(export(cli, "--search", "dock"))] == ["D-4"]
    cli.ok("asset", "delete", "D-4", "--yes")
    assert [r["tag"] for r in csv_rows(export(cli, "--deleted"))] == ["D-4"]
    assert "D-4" not in [r["tag"] for r in csv_rows(export(cli))]


def test_empty_export(cli: Cli) -> None:
    assert export(cli).splitlines() == [",".join(ASSET_JSON_FIELDS)]
    assert json.loads(export(cli, "-o", "json")) == []
    assert export(cli, "-o", "jsonl") == ""


def test_safe_csv_neutralises_formulas(cli: Cli, db_url: str) -> None:
    seed(db_url)
    rows = {r["tag"]: r for r in csv_rows(export(cli, "--safe-csv"))}
    assert rows["B-2"]["name"] == '\'=HYPERLINK("http://evil")'
    assert rows["B-2"]["notes"] == "'+1 spare cable"
    assert rows["C-3"]["name"] == "'@phone"
    assert rows["C-3"]["serial"] == "'-SN3"
    assert rows["A-1"]["name"] == 'Laptop "pro", 14"'  # untouched
    assert rows["C-3"]["purchase_cost"] == "99999999999.99"
    plain = {r["tag"]: r for r in csv_rows(export(cli))}
    assert plain["B-2"]["name"] == '=HYPERLINK("http://evil")'


def test_bad_export_flags(cli: Cli) -> None:
    result = cli("asset", "export", "-o", "json", "--safe-csv")
    assert result.exit_code == 2
    assert "--safe-csv only applies to CSV" in result.stderr
    result = cli("asset", "export", "-o", "xml")
    assert result.exit_code == 2
    result = cli("asset", "export", "--sort", "colour")
    assert result.exit_code == 2
    assert "cannot sort by" in result.stderr


@pytest.mark.parametrize(("fmt", "suffix"), [("csv", "csv"), ("jsonl", "jsonl")])
def test_export_import_round_trips(
    cli: Cli, db_url: str, tmp_path: Path, fmt: str, suffix: str
) -> None:
    seed(db_url)
    before = cli.ok("asset", "list", "--all", "-o", "json").json()["items"]
    path = tmp_path / f"export.{suffix}"
    path.write_text(export(cli, "-o", fmt), encoding="utf-8")
    # Into the same database with --update: nothing to do.
    result = cli("asset", "import", str(path), "--update", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert (result.json()["updated"], result.json()["unchanged"]) == (0, 4)
    assert counts(db_url) == (4, 4)
    # Into an empty database: the same assets come back, field for field.
    wipe(db_url)
    result = cli("asset", "import", str(path))
    assert result.exit_code == 0, result.stderr
    if fmt == "csv":
        assert (
            "Not kept: id, version, created_at, updated_at, created_by, updated_by, "
            "deleted_at, last_audited_at, audited_by (managed by assetctl)." in result.stderr
        )
    after = cli.ok("asset", "list", "--all", "-o", "json").json()["items"]
    assert data_columns(after) == data_columns(before)
    assert export(cli, "-o", fmt).count("\n") == path.read_text().count("\n")


def test_edited_export_updates_only_what_changed(cli: Cli, db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    rows = csv_rows(export(cli))
    rows[0]["location"] = "Berlin"
    rows[3]["notes"] = "checked"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "edited.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    result = cli("asset", "import", str(path), "--update", "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 2, 2)
    history = cli.ok("asset", "history", "A-1", "-o", "json").json()
    assert history[-1]["action"] == "updated"
    assert history[-1]["changes"] == {"location": {"old": "Zürich, HQ", "new": "Berlin"}}
