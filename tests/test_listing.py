"""Issue 2, items 5 and 6: filters, search, whitelisted sorting with NULLs last, keyset
pagination with opaque cursors, `--all` streaming, output formats and colour."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import random
import re
import subprocess
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from .asset_fixtures import ASSET_JSON_FIELDS, ASSETS, EPOCH, connect, insert_assets
from .conftest import ASSETCTL_BIN, Cli, add_args, read_terminal

LIST_COLUMNS = ["tag", "name", "category", "status", "assignee", "location", "serial"]
CURSOR_ON_STDERR = re.compile(r"--cursor (\S+)")


def _row(i: int) -> dict[str, Any]:
    """Row i of the 25-row fixture: duplicate values and NULLs in every nullable sort key."""
    status = {0: "assigned", 1: "in_repair", 2: "retired"}.get(i % 5, "in_stock")
    created = EPOCH + timedelta(minutes=i % 6)
    return {
        "tag": f"t{i:03d}",
        "name": ["alpha", "bravo", "charlie", "delta"][i % 4],
        "category": ["laptop", "monitor", "phone"][i % 3],
        "status": status,
        "assignee": ["ann", "bob"][i % 2] if status == "assigned" else None,
        "serial": None if i % 3 == 0 else f"s{(i * 7) % 25:03d}",
        "manufacturer": None if i % 4 == 1 else ["acme", "globex"][i % 2],
        "model": None if i % 6 == 0 else f"m{i % 5}",
        "location": None if i % 2 else ["berlin", "paris", "rome"][i % 3],
        "purchase_date": None if i % 7 == 3 else date(2025, 1 + i % 4, 1),
        "purchase_cost_cents": None if i % 5 == 4 else [1000, 250050, 99, 1000][i % 4],
        "warranty_until": None if i % 3 == 2 else date(2027, 1 + i % 2, 15),
        "created_at": created,
        "updated_at": created + timedelta(seconds=i % 4, microseconds=123457 * (i % 3)),
    }


def _seed(db_url: str, n: int = 25) -> list[dict[str, Any]]:
    """Insert rows in shuffled order (so ids do not follow tags); return them as stored."""
    rows = [_row(i) for i in range(n)]
    random.Random(7).shuffle(rows)
    insert_assets(db_url, rows)
    with connect(db_url) as conn:
        return [dict(r) for r in conn.execute(select(ASSETS)).mappings()]


def expected_ids(rows: list[dict[str, Any]], key: str, descending: bool = False) -> list[int]:
    """ORDER BY key [DESC] NULLS LAST, id [DESC], computed in Python."""
    column = "purchase_cost_cents" if key == "purchase_cost" else key
    present = [r for r in rows if r[column] is not None]
    missing = [r for r in rows if r[column] is None]
    present.sort(key=lambda r: (r[column], r["id"]), reverse=descending)
    missing.sort(key=lambda r: r["id"], reverse=descending)
    return [r["id"] for r in present + missing]


def walk_json(cli: Cli, limit: int, *args: str) -> list[int]:
    """Follow next_cursor from the first page to the last; return the ids in order."""
    ids: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        extra = ["--cursor", cursor] if cursor else []
        page = cli.ok("asset", "list", "--limit", str(limit), *args, *extra, "-o", "json").json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        assert page["items"] or pages == 0, "an empty page after a cursor"
        ids += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
        assert len(page["items"]) == limit
        assert pages < 100


@pytest.fixture
def rows(cli: Cli) -> list[dict[str, Any]]:
    return _seed(cli.env["ASSETCTL_DATABASE_URL"])


# --- sorting and pagination -------------------------------------------------------------------

SORTS = [
    ("tag", False),
    ("name", False),
    ("name", True),
    ("category", True),
    ("status", False),
    ("serial", False),
    ("serial", True),
    ("manufacturer", True),
    ("model", False),
    ("location", False),
    ("location", True),
    ("assignee", False),
    ("purchase_date", False),
    ("purchase_date", True),
    ("purchase_cost", False),
    ("purchase_cost", True),
    ("warranty_until", True),
    ("created_at", False),
    ("created_at", True),
    ("updated_at", False),
    ("updated_at", True),
    ("id", True),
]


def test_every_sort_key_orders_with_nulls_last(cli: Cli, rows: list[dict[str, Any]]) -> None:
    for key, descending in SORTS:
        sort = f"{key}:desc" if descending else key
        listed = cli.ok("asset", "list", "--sort", sort, "--all", "-o", "jsonl").stdout
        ids = [json.loads(line)["id"] for line in listed.splitlines()]
        assert ids == expected_ids(rows, key, descending), sort


def test_sort_syntax_variants(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    rows = _seed(cli.env["ASSETCTL_DATABASE_URL"])

    def ids(sort: str) -> list[int]:
        page = cli.ok("asset", "list", "--sort", sort, "--limit", "1000", "-o", "json").json()
        return [item["id"] for item in page["items"]]

    assert ids("name:asc") == ids("name") == ids(" NAME ") == expected_ids(rows, "name")
    assert ids("name:DESC") == expected_ids(rows, "name", True)
    assert ids("") == expected_ids(rows, "tag")  # default


WALKED_SORTS = [
    "tag",
    "name:desc",
    "serial",
    "serial:desc",
    "purchase_cost",
    "purchase_date:desc",
    "created_at",
    "updated_at:desc",
]


def test_pages_yield_every_row_exactly_once_in_order(cli: Cli, rows: list[dict[str, Any]]) -> None:
    for sort in WALKED_SORTS:
        key, _, direction = sort.partition(":")
        expected = expected_ids(rows, key, direction == "desc")
        assert walk_json(cli, 6, "--sort", sort) == expected, sort
    # A page size that does not divide the row count; and pages of one row.
    assert walk_json(cli, 7, "--sort", "serial:desc") == expected_ids(rows, "serial", True)
    retired = [r for r in rows if r["status"] == "retired"]
    assert walk_json(cli, 1, "--status", "retired", "--sort", "purchase_cost") == expected_ids(
        retired, "purchase_cost"
    )


def test_pages_with_filters(cli: Cli, rows: list[dict[str, Any]]) -> None:
    in_stock = [r for r in rows if r["status"] == "in_stock"]
    assert walk_json(cli, 3, "--status", "in_stock", "--sort", "location:desc") == expected_ids(
        in_stock, "location", True
    )
    bravo = [r for r in rows if r["name"] == "bravo"]
    assert len(bravo) > 3
    got = walk_json(cli, 2, "--search", "RAV", "--sort", "serial:desc")
    assert got == expected_ids(bravo, "serial", True)


@pytest.mark.parametrize("walk", [1, 4])
def test_filtered_pages_are_exact_whichever_way_they_are_read(
    cli: Cli, rows: list[dict[str, Any]], walk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a filtered page first filters only the next WALK rows in its order and
    otherwise lets the filter pick the rows first. With WALK tiny, pages take both ways and
    the switch between them at every page and part boundary: every filtered walk still
    yields exactly its rows, in order, once."""
    from assetctl.core.assets import listing
    from assetctl.db.engine import unit_of_work

    monkeypatch.setattr(listing, "WALK", walk)
    url = cli.env["ASSETCTL_DATABASE_URL"]
    # Deleted assets match the filters too: every way of reading must leave them out.
    gone = (
        {r["id"] for r in rows if r["status"] == "in_stock"}.pop(),
        next(r["id"] for r in rows if r["category"] == "phone" and r["status"] != "in_stock"),
    )
    with connect(url) as conn:
        conn.execute(ASSETS.update().where(ASSETS.c.id.in_(gone)).values(deleted_at=EPOCH))
    alive = [r for r in rows if r["id"] not in gone]
    chosen = {
        ("status", "in_stock"): [r for r in alive if r["status"] == "in_stock"],
        ("category", "phone"): [r for r in alive if r["category"] == "phone"],
        ("search", "RAV"): [r for r in alive if r["name"] == "bravo"],
    }
    for (field, value), matching in chosen.items():
        exact = () if field == "search" else ((field, value),)
        filters = listing.Filters(exact=exact, search=value if field == "search" else None)
        for key, descending in SORTS:
            sort = listing.Sort(key, descending)
            ids: list[int] = []
            cursor: str | None = None
            with unit_of_work(url) as session:
                while True:
                    page = listing.fetch_page(session, filters, sort, 3, cursor)
                    ids += [row["id"] for row in page.rows]
                    if page.next_cursor is None:
                        break
                    cursor = page.next_cursor
            assert ids == expected_ids(matching, key, descending), (field, value, str(sort))


def test_limit_and_cursor_without_json_print_the_cursor_on_stderr(sqlite_cli: Cli) -> None:
    # Rendering only: the database cannot make a difference here (nor in the format tests).
    cli = sqlite_cli
    rows = _seed(cli.env["ASSETCTL_DATABASE_URL"])
    expected = expected_ids(rows, "purchase_cost", True)
    by_id = {r["id"]: r["tag"] for r in rows}
    for fmt in ("jsonl", "csv", "tsv", "table", None):
        tags: list[str] = []
        cursor: str | None = None
        while True:
            args = ["asset", "list", "--limit", "10", "--sort", "purchase_cost:desc"]
            args += ["--cursor", cursor] if cursor else []
            args += ["-o", fmt] if fmt else []
            result = cli.ok(*args)
            assert "--cursor" not in result.stdout
            tags += _tags(result.stdout, fmt)
            found = CURSOR_ON_STDERR.search(result.stderr)
            if found is None:
                break
            cursor = found.group(1)
        assert tags == [by_id[i] for i in expected], fmt


def _tags(stdout: str, fmt: str | None) -> list[str]:
    lines = stdout.splitlines()
    if fmt == "jsonl":
        return [json.loads(line)["tag"] for line in lines]
    if fmt == "csv":
        return [row["tag"] for row in csv.DictReader(io.StringIO(stdout))]
    if fmt == "tsv":
        return [line.split("\t")[1] for line in lines[1:]]
    if fmt == "table":
        return [line.split()[0] for line in lines[1:]]
    return [line.split("\t")[0] for line in lines]


def test_cursor_is_opaque_and_short(cli: Cli, rows: list[dict[str, Any]]) -> None:
    cursor = cli.ok("asset", "list", "--limit", "5", "-o", "json").json()["next_cursor"]
    assert re.fullmatch(r"[A-Za-z0-9_\-]+\.[0-9a-f]+", cursor)
    assert len(cursor) < 200


def test_page_stays_stable_when_earlier_rows_are_added(
    cli: Cli, rows: list[dict[str, Any]]
) -> None:
    """Keyset, not OFFSET: rows inserted before the cursor do not shift the next page."""
    first = cli.ok("asset", "list", "--limit", "5", "-o", "json").json()
    cli.ok(*add_args("a000"))  # sorts before every fixture tag
    second = cli.ok(
        "asset", "list", "--limit", "5", "--cursor", first["next_cursor"], "-o", "json"
    ).json()
    expected = expected_ids(rows, "tag")
    assert [i["id"] for i in first["items"] + second["items"]] == expected[:10]


# --- --all streams every row --------------------------------------------------------------------


def test_all_streams_more_rows_than_one_batch(cli: Cli) -> None:
    from assetctl.core.assets.listing import STREAM_BATCH

    url = cli.env["ASSETCTL_DATABASE_URL"]
    n = STREAM_BATCH + 205
    rows = [
        {
            "tag": f"bulk{i:05d}",
            "name": f"bulk {i % 10}",
            "category": "laptop",
            # NULL serials for most rows: the batch boundary falls inside the NULL tail.
            "serial": f"b{i:05d}" if i % 4 == 0 else None,
            "created_at": EPOCH + timedelta(seconds=i // 300),  # long runs of equal keys
            "status": "in_stock" if i % 2 else "in_repair",
        }
        for i in range(n)
    ]
    insert_assets(url, rows)
    for args, count in (
        ([], n),
        (["--sort", "serial:desc"], n),
        (["--sort", "created_at"], n),
        (["--sort", "name:desc", "--status", "in_stock"], n // 2),
    ):
        out = cli.ok("asset", "list", "--all", *args, "-o", "jsonl").stdout.splitlines()
        records = [json.loads(line) for line in out]
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids)) == count, args
        assert list(records[0]) == ASSET_JSON_FIELDS
        with connect(url) as conn:
            stored = [dict(r) for r in conn.execute(select(ASSETS)).mappings()]
        if "--status" in args:
            stored = [r for r in stored if r["status"] == "in_stock"]
        key = args[1].partition(":")[0] if args else "tag"
        assert ids == expected_ids(stored, key, args[1].endswith(":desc") if args else False)
    # --all never prints a cursor, in any format.
    result = cli.ok("asset", "list", "--all", "-o", "csv")
    assert len(result.stdout.splitlines()) == n + 1
    assert "--cursor" not in result.stderr
    plain = cli.ok("asset", "list", "--all")
    assert len(plain.stdout.splitlines()) == n


# --- filters and search -------------------------------------------------------------------------


def _list_tags(cli: Cli, *args: str) -> list[str]:
    items = cli.ok("asset", "list", *args, "--limit", "1000", "-o", "json").json()["items"]
    return [item["tag"] for item in items]


def test_filters(cli: Cli, rows: list[dict[str, Any]]) -> None:
    def tags(pred: Any) -> list[str]:
        return sorted(r["tag"] for r in rows if pred(r))

    assert _list_tags(cli, "--status", "retired") == tags(lambda r: r["status"] == "retired")
    assert _list_tags(cli, "--status", "IN_REPAIR") == tags(lambda r: r["status"] == "in_repair")
    assert _list_tags(cli, "--category", "Monitor") == tags(lambda r: r["category"] == "monitor")
    assert _list_tags(cli, "--assignee", "ann") == tags(lambda r: r["assignee"] == "ann")
    assert _list_tags(cli, "--location", "paris") == tags(lambda r: r["location"] == "paris")
    assert _list_tags(cli, "--status", "assigned", "--category", "phone") == tags(
        lambda r: r["status"] == "assigned" and r["category"] == "phone"
    )
    assert _list_tags(cli, "--location", "nowhere") == []
    assert cli.ok("asset", "list", "--location", "nowhere", "-o", "json").json() == {
        "items": [],
        "next_cursor": None,
    }


def test_deleted_filter(cli: Cli) -> None:
    for tag in ("d1", "d2", "d3"):
        cli.ok(*add_args(tag, location="x"))
    cli.ok("asset", "delete", "d2", "--yes")
    assert _list_tags(cli) == ["d1", "d3"]
    assert _list_tags(cli, "--deleted") == ["d2"]
    assert _list_tags(cli, "--deleted", "--location", "x") == ["d2"]
    assert _list_tags(cli, "--deleted", "--search", "d1") == []


def test_search_is_case_insensitive_over_the_five_fields(cli: Cli) -> None:
    cli.ok(*add_args("Lap-Tag-Hit", name="n1"))
    cli.ok(*add_args("t2", name="Big Screen"))
    cli.ok(*add_args("t3", serial="SN-XyZ-9"))
    cli.ok(*add_args("t4", model="ThinkPad"))
    cli.ok(*add_args("t5", assignee="Zoe Quinn"))
    cli.ok(*add_args("t6", manufacturer="screenco", location="thinkpad alley", notes="xyz"))
    assert _list_tags(cli, "--search", "lap-tag") == ["Lap-Tag-Hit"]
    assert _list_tags(cli, "--search", "SCREEN") == ["t2"]
    assert _list_tags(cli, "--search", "xyz") == ["t3"]
    assert _list_tags(cli, "--search", "thinkPAD") == ["t4"]
    assert _list_tags(cli, "--search", "zoe") == ["t5"]
    assert _list_tags(cli, "--search", "quinn", "--status", "assigned") == ["t5"]
    assert _list_tags(cli, "--search", "quinn", "--status", "in_stock") == []
    assert _list_tags(cli, "--search", "   ") == ["Lap-Tag-Hit", "t2", "t3", "t4", "t5", "t6"]


def test_search_folds_case_beyond_ascii(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    if url.startswith("postgresql"):
        with connect(url) as conn:
            if conn.exec_driver_sql("SELECT lower('Ü')").scalar_one() != "ü":
                pytest.skip("this PostgreSQL server's locale folds ASCII only")
    cli.ok(*add_args("U-1", name="Écran", assignee="Jürgen Müller"))
    for query in ("müller", "MÜLLER", "jÜrgen", "écran", "ÉCRAN"):
        assert _list_tags(cli, "--search", query) == ["U-1"], query


def test_search_wildcards_are_literal(cli: Cli) -> None:
    cli.ok(*add_args("pct", name="50% off"))
    cli.ok(*add_args("under", name="a_b"))
    cli.ok(*add_args("plain", name="a-b 500 off"))
    cli.ok(*add_args("slash", name="back\\slash"))
    assert _list_tags(cli, "--search", "%") == ["pct"]
    assert _list_tags(cli, "--search", "50%") == ["pct"]
    assert _list_tags(cli, "--search", "_") == ["under"]
    assert _list_tags(cli, "--search", "a_b") == ["under"]
    assert _list_tags(cli, "--search", "\\") == ["slash"]
    assert _list_tags(cli, "--search", "'; drop table assets; --") == []


# --- output formats -------------------------------------------------------------------------


def test_output_formats(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    cli.ok(*add_args("F-1", serial="S1", purchase_cost="10.5", notes="line 1\nline\t2"))
    cli.ok(*add_args("F-2", name='Quote "x", comma', assignee="ann"))
    record = cli.ok("asset", "show", "F-1", "-o", "json").json()

    page = cli.ok("asset", "list", "-o", "json").json()
    assert [list(i) for i in page["items"]] == [ASSET_JSON_FIELDS] * 2
    assert page["items"][0] == record
    assert page["next_cursor"] is None

    jsonl = cli.ok("asset", "list", "-o", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in jsonl] == page["items"]

    parsed = list(csv.DictReader(io.StringIO(cli.ok("asset", "list", "-o", "csv").stdout)))
    assert list(parsed[0]) == ASSET_JSON_FIELDS
    assert (parsed[0]["notes"], parsed[0]["purchase_cost"], parsed[0]["description"]) == (
        "line 1\nline\t2",
        "10.50",
        "",
    )
    assert parsed[1]["name"] == 'Quote "x", comma'
    assert parsed[0]["created_at"] == record["created_at"]

    tsv = cli.ok("asset", "list", "-o", "tsv").stdout.splitlines()
    assert tsv[0].split("\t") == ASSET_JSON_FIELDS
    assert len(tsv) == 3
    assert all(len(line.split("\t")) == len(ASSET_JSON_FIELDS) for line in tsv)
    notes = ASSET_JSON_FIELDS.index("notes")
    assert tsv[1].split("\t")[notes] == "line 1\\nline\\t2"  # escaped: one record per line

    # Not a terminal and no -o: the list's columns, tab-separated, no header.
    plain = cli.ok("asset", "list").stdout.splitlines()
    assert plain[1].split("\t") == ["F-2", 'Quote "x", comma', "laptop", "assigned", "ann", "", ""]
    assert len(plain) == 2

    table = cli.ok("asset", "list", "-o", "table").stdout
    assert table.splitlines()[0].split() == [c.upper() for c in LIST_COLUMNS]
    assert "\x1b[" not in table  # not a terminal: no colour
    assert "F-1" in table and "F-2" in table


def test_format_names_are_case_insensitive_and_checked(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    cli.ok(*add_args("F-1"))
    assert cli.ok("asset", "list", "-o", "JSON").json()["items"][0]["tag"] == "F-1"
    bad = cli("asset", "list", "-o", "xml")
    assert bad.exit_code == 2
    assert "xml" in bad.stderr and bad.stdout == ""


def test_empty_listing_is_success(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    for fmt in ("json", "jsonl", "csv", "tsv", "table"):
        result = cli.ok("asset", "list", "-o", fmt)
        if fmt == "json":
            assert result.json() == {"items": [], "next_cursor": None}
        elif fmt in ("csv", "tsv"):
            assert len(result.stdout.splitlines()) == 1  # the header
        else:
            assert result.stdout == ""
    assert cli.ok("asset", "list").stdout == ""


# --- colour on a terminal -------------------------------------------------------------------


_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _has_colour(output: str) -> bool:
    for params in _SGR.findall(output):
        for code in filter(None, params.split(";")):
            if 30 <= int(code) <= 49 or 90 <= int(code) <= 107:
                return True
    return False


def _run_on_terminal(cli: Cli, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the installed entry point with stdout on a pseudo-terminal; return what it wrote."""
    master, slave = pty.openpty()
    full_env = {**cli.env, "TERM": "xterm-256color", "COLUMNS": "160", **(env or {})}
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=full_env,
    )
    os.close(slave)
    output = read_terminal(master)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    return output.decode()


def test_colour_only_on_a_terminal_and_never_when_disabled(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    cli.ok(*add_args("C-1"))
    coloured = _run_on_terminal(cli, "asset", "list")
    assert "TAG" in coloured and "C-1" in coloured  # a table on a terminal, not plain rows
    assert "\t" not in coloured
    assert _has_colour(coloured)
    for off in (
        _run_on_terminal(cli, "asset", "list", env={"NO_COLOR": "1"}),
        _run_on_terminal(cli, "--no-color", "asset", "list"),
        _run_on_terminal(cli, "asset", "list", env={"TERM": "dumb"}),
    ):
        assert "C-1" in off
        assert not _has_colour(off), repr(off)
