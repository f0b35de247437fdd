"""Issue 16, "Reports for cron and CI": warranty, summary and assignments reports in every
output format, `--fail-if-any`, and the one duration syntax."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from assetctl.core.security.alerts import parse_since
from assetctl.durations import Duration, parse_duration, parse_span

from .asset_fixtures import insert_assets, snapshot
from .conftest import Cli

TODAY = datetime.now(UTC).date()


def _seed(cli: Cli) -> None:
    day = timedelta(days=1)
    insert_assets(
        cli.env["ASSETCTL_DATABASE_URL"],
        [
            {"tag": "SOON", "name": "a", "category": "laptop", "warranty_until": TODAY + 10 * day,
             "purchase_cost_cents": 100_000, "location": "Berlin"},
            {"tag": "GONE", "name": "b", "category": "laptop", "warranty_until": TODAY - 5 * day,
             "status": "assigned", "assignee": "Ann@x.com", "purchase_cost_cents": 50_050},
            {"tag": "LATER", "name": "c", "category": "monitor",
             "warranty_until": TODAY + 100 * day, "location": "Berlin"},
            {"tag": "RETIRED", "name": "d", "category": "laptop", "status": "retired",
             "warranty_until": TODAY - 50 * day},
        ],
    )  # fmt: skip


def test_warranty_window_and_ended_in_service(cli: Cli) -> None:
    _seed(cli)
    rows = cli.ok("report", "warranty", "--within", "30d", "-o", "json").json()
    assert [(r["tag"], r["days_left"]) for r in rows] == [("GONE", -5), ("SOON", 10)]
    wide = cli.ok("report", "warranty", "--within", "6m", "-o", "jsonl").stdout.splitlines()
    assert [json.loads(r)["tag"] for r in wide] == ["GONE", "SOON", "LATER"]


def test_fail_if_any_exits_1_only_with_rows(cli: Cli) -> None:
    _seed(cli)
    found = cli("report", "warranty", "--within", "12w", "--fail-if-any", "-o", "csv")
    assert found.exit_code == 1, found.stderr
    assert [r["tag"] for r in csv.DictReader(io.StringIO(found.stdout))] == ["GONE", "SOON"]
    none = cli("report", "assignments", "--person", "nobody@x.com", "--fail-if-any")
    assert none.exit_code == 0 and none.stdout == ""


@pytest.mark.parametrize("bad", ["soon", "-3d", "0d", "3", "30 days"])
def test_bad_within_is_2(cli: Cli, bad: str) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    before = snapshot(url)
    result = cli("report", "warranty", "--within", bad)
    assert result.exit_code == 2, result.stderr
    assert "--within" in result.stderr and "not a duration" in result.stderr
    assert snapshot(url) == before


def test_summary_counts_and_costs(cli: Cli) -> None:
    _seed(cli)
    rows = cli.ok("report", "summary", "-o", "json").json()
    by = {(r["dimension"], r["value"]): r for r in rows}
    assert by[("status", "in_stock")]["count"] == 2
    assert by[("category", "laptop")]["count"] == 3
    assert by[("location", "Berlin")]["count"] == 2
    total = by[("total", None)]
    assert total["count"] == 4 and total["total_cost"] == 1500.5
    assert total["average_cost"] == 750.25  # over the two assets that have a cost
    tsv = cli.ok("report", "summary", "-o", "tsv").stdout.splitlines()
    assert tsv[0].split("\t") == ["dimension", "value", "count", "total_cost", "average_cost"]


def test_assignments_of_one_person(cli: Cli) -> None:
    _seed(cli)
    rows = cli.ok("report", "assignments", "--person", "ann@x.com", "-o", "json").json()
    assert [r["tag"] for r in rows] == ["GONE"]
    table = cli.ok("report", "assignments", "--person", "ann@x.com", "-o", "table").stdout
    assert "GONE" in table


def test_report_subprocess_for_cron(cli: Cli) -> None:
    _seed(cli)
    result = cli.sub("report", "warranty", "--within", "30d", "--fail-if-any")
    assert result.exit_code == 1
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["GONE", "SOON"]


def test_one_duration_syntax() -> None:
    assert parse_duration("30d") == Duration(seconds=30 * 86400)
    assert parse_duration("12w") == Duration(seconds=12 * 7 * 86400)
    assert parse_duration("6m") == Duration(months=6)
    assert parse_duration("1y") == Duration(months=12)
    assert parse_duration("90min") == Duration(seconds=5400)
    assert parse_duration("6m").after(date(2026, 8, 31)) == date(2027, 2, 28)
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert parse_since("6m", now) == datetime(2026, 5, 25, 12, tzinfo=UTC)
    assert parse_since("90min", now) == datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
    for bad in ("soon", "-3d", "0d", "", "3", "1.5d", "\u0663\u0660d"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    # Settings take the same grammar for fixed spans, without the calendar units.
    assert parse_span("90min") == parse_duration("90min").seconds == 5400
    assert parse_span("2w") == parse_duration("2w").seconds
    for calendar_unit in ("15m", "1y"):
        with pytest.raises(ValueError, match="calendar unit"):
            parse_span(calendar_unit)
