"""`assetctl asset import`: CSV, JSON Lines, stdin, Snipe-IT; all-or-nothing with every
problem listed; --update / --dry-run; history events. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .asset_fixtures import counts, events_of, expected_actor, insert_assets, snapshot
from .conftest import Cli, CliResult

HEADER = "tag,name,category,status,serial,assignee,purchase_date,purchase_cost,notes"


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def listed(cli: Cli) -> dict[str, dict[str, Any]]:
    return {
        row["tag"]: row for row in cli.ok("asset", "list", "--all", "-o", "json").json()["items"]
    }


def problem_lines(result: CliResult) -> list[str]:
    return [line.strip() for line in result.stderr.splitlines() if line.startswith("  line ")]


def assert_rejected(cli: Cli, db_url: str, result: CliResult, code: int, before: Any) -> list[str]:
    """Exit `code`, the summary error line, and the database exactly as before."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "nothing was imported" in result.stderr
    assert snapshot(db_url) == before
    return problem_lines(result)


def test_csv_import_creates_assets_with_history(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "assets.csv",
        f"{HEADER}\n"
        'LAP-1,ThinkPad T14,Laptop,,SN-1,,2024-03-01,1299.50,"line one\nline two"\n'
        "PHN-1,Pixel 8,phone,assigned,SN-2,alice@example.com,,,\n"
        "MON-1,Dell U27,monitor,in_repair,,,,0,\n",
    )
    result = cli.ok("asset", "import", path)
    assert "3 created, 0 updated, 0 unchanged" in result.stderr
    assets = listed(cli)
    assert set(assets) == {"LAP-1", "PHN-1", "MON-1"}
    lap = assets["LAP-1"]
    assert lap["category"] == "laptop"  # stored lower case, like `asset add`
    assert lap["status"] == "in_stock"
    assert lap["purchase_cost"] == 1299.5
    assert lap["purchase_date"] == "2024-03-01"
    assert lap["notes"] == "line one\nline two"
    assert lap["version"] == 1
    assert assets["PHN-1"]["assignee"] == "alice@example.com"
    assert assets["MON-1"]["purchase_cost"] == 0
    events = events_of(db_url, "LAP-1")
    assert [e["action"] for e in events] == ["imported"]
    assert events[0]["actor"] == expected_actor(cli)
    assert events[0]["changes"]["purchase_cost"] == {"old": None, "new": "1299.50"}
    assert events[0]["changes"]["category"] == {"old": None, "new": "laptop"}
    # The status the file left empty is recorded as it was stored, like `asset add` does.
    assert events[0]["changes"]["status"] == {"old": None, "new": "in_stock"}
    assert "assignee" not in events[0]["changes"]
    assert counts(db_url) == (3, 3)


def test_import_accepts_exactly_what_add_accepts(cli: Cli, tmp_path: Path) -> None:
    cli.ok("asset", "add", "--tag", "A-1", "--name", " N ", "--category", "Laptop",
           "--purchase-cost", "12.5", "--serial", "S-1")  # fmt: skip
    path = write(
        tmp_path, "one.csv", "tag,name,category,purchase_cost,serial\nA-2, N ,Laptop,12.5,S-2\n"
    )
    cli.ok("asset", "import", path)
    assets = listed(cli)
    keep = ("name", "category", "status", "purchase_cost")
    assert {k: assets["A-1"][k] for k in keep} == {k: assets["A-2"][k] for k in keep}


def test_jsonl_from_stdin_with_bom(cli: Cli) -> None:
    lines = [
        {"tag": "J-1", "name": "Phone", "category": "phone", "purchase_cost": 99.99},
        {"tag": "J-2", "name": "Dock", "category": "dock", "purchase_cost": "10", "notes": None},
    ]
    body = "\ufeff" + "\n".join(json.dumps(line) for line in lines) + "\n\n"
    result = cli("asset", "import", "-", "--format", "jsonl", input=body)
    assert result.exit_code == 0, result.stderr
    assets = listed(cli)
    assert assets["J-1"]["purchase_cost"] == 99.99
    assert assets["J-2"]["purchase_cost"] == 10


def test_csv_from_stdin_with_bom_is_detected(cli: Cli) -> None:
    result = cli("asset", "import", "-", input="\ufefftag,name,category\nS-1,Name,cat\n")
    assert result.exit_code == 0, result.stderr
    assert list(listed(cli)) == ["S-1"]


def test_dry_run_writes_nothing_and_reports(cli: Cli, db_url: str, tmp_path: Path) -> None:
    insert_assets(db_url, [{"tag": "OLD-1", "name": "Old", "category": "laptop"}])
    before = snapshot(db_url)
    path = write(tmp_path, "f.csv", "tag,name,category\nOLD-1,Old,laptop\nNEW-1,New,laptop\n")
    result = cli("asset", "import", path, "--dry-run", "--update", "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 0, 1)
    assert report["dry_run"] is True
    assert "Nothing was written" in result.stderr
    assert snapshot(db_url) == before


def test_update_counts_and_records_real_changes(cli: Cli, db_url: str, tmp_path: Path) -> None:
    insert_assets(
        db_url,
        [
            {"tag": "U-1", "name": "One", "category": "laptop", "location": "Berlin",
             "serial": "S-1", "purchase_cost_cents": 1000},
            {"tag": "U-2", "name": "Two", "category": "laptop", "status": "assigned",
             "assignee": "bob"},
            {"tag": "U-3", "name": "Three", "category": "laptop"},
        ],
    )  # fmt: skip
    path = write(
        tmp_path,
        "upd.csv",
        "tag,name,location,assignee,purchase_cost\n"
        "U-1,One,Paris,,\n"  # location changed, cost cleared, assignee stays empty
        "U-2,Two,,,\n"  # unassigned: status goes back to in_stock
        "U-3,Three,,,\n"  # unchanged
        "U-4,Four,Rome,,\n",  # new, but no category: a listed problem
    )
    result = cli("asset", "import", path, "--update")
    assert result.exit_code == 2
    assert problem_lines(result) == [
        "line 5, column category: category is required for a new asset"
    ]
    path = write(tmp_path, "upd2.csv", "\n".join(Path(path).read_text().splitlines()[:-1]) + "\n")
    result = cli("asset", "import", path, "--update", "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 2, 1)
    assets = listed(cli)
    assert assets["U-1"]["location"] == "Paris"
    assert assets["U-1"]["purchase_cost"] is None
    assert assets["U-1"]["serial"] == "S-1"  # not a column of the file: untouched
    assert assets["U-1"]["version"] == 2
    assert (assets["U-2"]["status"], assets["U-2"]["assignee"]) == ("in_stock", None)
    assert assets["U-3"]["version"] == 1
    last = events_of(db_url, "U-1")[-1]
    assert last["action"] == "updated"
    assert last["changes"] == {
        "location": {"old": "Berlin", "new": "Paris"},
        "purchase_cost": {"old": "10.00", "new": None},
    }
    assert events_of(db_url, "U-2")[-1]["changes"] == {
        "status": {"old": "assigned", "new": "in_stock"},
        "assignee": {"old": "bob", "new": None},
    }
    assert len(events_of(db_url, "U-3")) == 1


def test_update_can_swap_and_move_serials_between_assets(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    """Correcting two swapped serials is one file: the unique index must never see the
    halfway state in which both assets hold the same serial."""
    insert_assets(
        db_url,
        [
            {"tag": "W-1", "name": "One", "category": "laptop", "serial": "S-A"},
            {"tag": "W-2", "name": "Two", "category": "laptop", "serial": "S-B"},
            {"tag": "W-3", "name": "Three", "category": "laptop", "serial": "S-C"},
            {"tag": "W-4", "name": "Four", "category": "laptop"},
        ],
    )  # fmt: skip
    path = write(
        tmp_path,
        "swap.csv",
        "tag,name,category,serial\n"
        "W-2,Two,laptop,S-A\n"  # takes W-1's serial...
        "W-1,One,laptop,S-B\n"  # ...which takes W-2's
        "W-4,Four,laptop,S-C\n"  # takes W-3's serial, which W-3 gives up below
        "W-3,Three,laptop,\n"
        "W-5,Five,laptop,S-D\n",  # a new asset alongside
    )
    result = cli("asset", "import", path, "--update", "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 4, 0)
    serials = {tag: row["serial"] for tag, row in listed(cli).items()}
    assert serials == {"W-1": "S-B", "W-2": "S-A", "W-3": None, "W-4": "S-C", "W-5": "S-D"}
    assert events_of(db_url, "W-1")[-1]["changes"] == {"serial": {"old": "S-A", "new": "S-B"}}
    assert events_of(db_url, "W-3")[-1]["changes"] == {"serial": {"old": "S-C", "new": None}}
    assert [e["action"] for e in events_of(db_url, "W-4")] == ["created", "updated"]
    assert {tag: row["version"] for tag, row in listed(cli).items() if tag != "W-5"} == {
        "W-1": 2, "W-2": 2, "W-3": 2, "W-4": 2
    }  # fmt: skip


def test_existing_tag_without_update_is_a_conflict(cli: Cli, db_url: str, tmp_path: Path) -> None:
    insert_assets(db_url, [{"tag": "E-1", "name": "x", "category": "c", "serial": "SER"}])
    before = snapshot(db_url)
    path = write(tmp_path, "f.csv", "tag,name,category,serial\nN-1,a,b,\nE-1,a,b,\nN-2,a,b,SER\n")
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 6, before)
    assert lines == [
        "line 3, column tag, value 'E-1': an asset with tag 'E-1' already exists "
        "(use --update to update it)",
        "line 4, column serial, value 'SER': serial 'SER' is already used by asset E-1",
    ]


def test_duplicates_in_file_are_listed_with_exit_6(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(
        tmp_path,
        "dup.csv",
        "tag,name,category,serial\nD-1,a,b,S1\nD-2,a,b,S1\nD-1,a,b,\nD-3,a,b,\nD-1,a,b,\n",
    )
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 6, before)
    assert lines == [
        "line 3, column serial, value 'S1': duplicate serial 'S1' (first on line 2)",
        "line 4, column tag, value 'D-1': duplicate tag 'D-1' (first on line 2)",
        "line 6, column tag, value 'D-1': duplicate tag 'D-1' (first on line 2)",
    ]


def test_every_bad_value_is_listed_and_nothing_written(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    insert_assets(db_url, [{"tag": "KEEP", "name": "x", "category": "c"}])
    before = snapshot(db_url)
    long_tag = "T" * 65
    path = write(
        tmp_path,
        "bad.csv",
        "tag,name,category,status,purchase_date,purchase_cost\n"
        "OK-1,a,b,,,\n"
        "B-1,a,b,,2024-02-30,\n"
        "B-2,a,b,,,12.345\n"
        "B-3,a,b,broken,,\n"
        ",a,b,,,\n"
        f"{long_tag},a,b,,,\n"
        "OK-1,a,b,,,\n"  # a duplicate too: mixed kinds -> exit 2
        "B-4,a,b,retired,,-1\n",
    )
    result = cli("asset", "import", path)
    lines = assert_rejected(cli, db_url, result, 2, before)
    assert len(lines) == 7, lines
    assert lines[0].startswith("line 3, column purchase_date, value '2024-02-30': ")
    assert lines[1].startswith("line 4, column purchase_cost, value '12.345': ")
    assert lines[2].startswith("line 5, column status, value 'broken': status 'broken' is not")
    assert lines[3].startswith("line 6, column tag, value '': tag must not be empty")
    assert lines[4].startswith(f"line 7, column tag, value '{long_tag}': tag is longer than 64")
    assert lines[5] == "line 8, column tag, value 'OK-1': duplicate tag 'OK-1' (first on line 2)"
    assert lines[6].startswith("line 9, column purchase_cost, value '-1': ")
    assert "the file has 7 problems" in result.stderr


def test_json_report_lists_problems(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", "tag,name,category,status\nX-1,a,b,nope\n")
    result = cli("asset", "import", path, "-o", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["problems"] == [
        {
            "line": 2,
            "column": "status",
            "value": "nope",
            "reason": "status 'nope' is not valid (use one of: in_stock, assigned, "
            "in_repair, retired, lost)",
            "kind": "invalid",
        }
    ]
    assert json.loads(result.stderr.strip().splitlines()[-1])["error"]["code"] == 2
    assert counts(db_url)[0] == 0


def test_latin1_bytes_name_the_line(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(tmp_path, "latin1.csv", b"tag,name,category\nL-1,ok,c\nL-2,Caf\xe9,c\nL-3,x,c\n")
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    # Byte offsets count from 0 in the whole file: 18 + 9 + len("L-2,Caf").
    assert lines == [
        "line 3, value 'e9': line 3 is not valid UTF-8: byte 0xe9 at byte offset 34 of the "
        "file (save the file as UTF-8, or pass the encoding it was saved in, e.g. "
        "--encoding cp1252)"
    ]
    result = cli("asset", "import", path, "--encoding", "cp1252")
    assert result.exit_code == 0, result.stderr
    assert listed(cli)["L-2"]["name"] == "Café"


def test_missing_required_column_is_named(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(tmp_path, "f.csv", "tag,name\nM-1,a\n")
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    assert lines == ["line 1, column category: required column 'category' is missing"]


def test_unknown_column_unless_ignored(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(tmp_path, "f.csv", "tag,name,category,colour\nC-1,a,b,red\n")
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    assert lines == [
        "line 1, column colour: unknown column 'colour' (map it with --map 'colour=FIELD', "
        "or pass --ignore-unknown to skip it)"
    ]
    result = cli("asset", "import", path, "--ignore-unknown")
    assert result.exit_code == 0, result.stderr
    assert "Not kept: colour (not an asset field (--ignore-unknown))." in result.stderr
    assert list(listed(cli)) == ["C-1"]


def test_ragged_rows_and_unterminated_quote(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(
        tmp_path,
        "f.csv",
        'tag,name,category\nR-1,a,b\nR-2,a\nR-3,a,b,extra\nR-4,"unterminated,b\nR-5,a,b\n',
    )
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    assert lines == [
        "line 3: row has 2 cells but the header has 3 (ragged row)",
        "line 4: row has 4 cells but the header has 3 (ragged row)",
        "line 5: malformed CSV: a quoted field is never closed (unterminated quote)",
    ]


def test_empty_file_with_header_is_zero_rows(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "tag,name,category\n")
    result = cli("asset", "import", path)
    assert result.exit_code == 0, result.stderr
    assert "Imported 0 rows" in result.stderr
    assert counts(db_url) == (0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty: a CSV import needs a header row"),
        ("X-1,Laptop,laptop\n", "the first line is not a header"),
        ("X-1,Laptop,laptop\nX-2,Phone,phone\n", "the first line is not a header"),
    ],
)
def test_file_without_header_is_refused(
    cli: Cli, db_url: str, tmp_path: Path, content: str, message: str
) -> None:
    before = snapshot(db_url)
    path = write(tmp_path, "f.csv", content)
    result = cli("asset", "import", path)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert snapshot(db_url) == before


def test_missing_file_is_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("asset", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_jsonl_problems(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(
        tmp_path,
        "f.jsonl",
        '{"tag": "J-1", "name": "a", "category": "b"}\n'
        "not json\n"
        '["a"]\n'
        '{"tag": "J-2", "name": "a", "category": "b", "colour": "red", "status": true}\n'
        '{"tag": "J-3", "name": "a"}\n',
    )
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    assert len(lines) == 5, lines
    assert lines[0].startswith("line 2: not valid JSON")
    assert lines[1] == "line 3: each line must be a JSON object of asset fields"
    assert "unknown field 'colour'" in lines[2] + lines[3]
    assert "status must be a string or a number" in lines[2] + lines[3]
    assert lines[4] == "line 5, column category: category is required for a new asset"


def test_status_and_assignee_must_agree(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(
        tmp_path,
        "f.csv",
        "tag,name,category,status,assignee\nS-1,a,b,assigned,\nS-2,a,b,in_repair,bob\n",
    )
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    assert lines == [
        "line 2, column status, value 'assigned': status 'assigned' needs an assignee",
        "line 3, column status, value 'in_repair': an asset with an assignee must have "
        "status 'assigned', not 'in_repair'",
    ]
    path = write(tmp_path, "g.csv", "tag,name,category,status,assignee\nS-3,a,b,lost,bob\n")
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 6, before)
    assert lines == ["line 2, column assignee, value 'bob': a lost asset cannot be assigned"]


def test_snipeit_export_is_recognised_and_mapped(cli: Cli, db_url: str, tmp_path: Path) -> None:
    header = (
        "Asset Tag,Name,Category,Manufacturer,Model,Serial,Location,Purchase Date,"
        "Purchase Cost,Status,Notes,Checked Out To: Email"
    )
    rows = [
        "SN-0001,Design laptop,Laptops,Apple,MacBook Pro 14,C02X1,HQ,2023-05-02 00:00:00,"
        '"1,999.00",Deployed,Has dongle,ana@example.com',
        "SN-0002,Spare monitor,Monitors,Dell,U2720Q,CN0X2,Store,2022-01-10,$349.99,"
        "Ready to Deploy,,",
        "SN-0003,Old phone,Phones,Google,Pixel 4,,,,,Archived,,",
    ]
    path = write(tmp_path, "snipeit-assets.csv", header + "\n" + "\n".join(rows) + "\n")
    result = cli("asset", "import", path, "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["format"] == "snipeit"
    assets = listed(cli)
    first = assets["SN-0001"]
    assert (first["status"], first["assignee"]) == ("assigned", "ana@example.com")
    assert (first["manufacturer"], first["model"], first["serial"]) == (
        "Apple", "MacBook Pro 14", "C02X1",
    )  # fmt: skip
    assert (first["purchase_date"], first["purchase_cost"]) == ("2023-05-02", 1999.0)
    assert (first["category"], first["location"], first["notes"]) == ("laptops", "HQ", "Has dongle")
    assert assets["SN-0002"]["status"] == "in_stock"
    assert assets["SN-0002"]["purchase_cost"] == 349.99
    assert assets["SN-0003"]["status"] == "retired"
    # Snipe-IT columns with no assetctl field are kept in a labelled block of notes.
    extra = write(
        tmp_path,
        "snipe2.csv",
        f"{header},Supplier\n{rows[1].replace('SN-0002', 'SN-9').replace('CN0X2', 'CN0X9')},ACME\n",
    )
    result = cli("asset", "import", extra, "--format", "snipeit")
    assert result.exit_code == 0, result.stderr
    assert "Kept in notes: Supplier." in result.stderr
    assert listed(cli)["SN-9"]["notes"] == "-- Snipe-IT --\nSupplier: ACME"
    assert counts(db_url)[0] == 4


def test_snipeit_problems_use_its_column_names(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "Asset Tag,Name,Category,Status\nSN-1,x,y,Exploded\n")
    result = cli("asset", "import", path)
    assert result.exit_code == 2
    assert problem_lines(result)[0].startswith("line 2, column Status, value 'Exploded': ")
    assert counts(db_url) == (0, 0)


def test_update_file_with_only_the_tag_column(cli: Cli, db_url: str, tmp_path: Path) -> None:
    insert_assets(db_url, [{"tag": "O-1", "name": "x", "category": "c"}])
    before = snapshot(db_url)
    path = write(tmp_path, "tags.csv", "tag\nO-1\n")
    result = cli("asset", "import", path, "--update", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["unchanged"] == 1
    assert snapshot(db_url) == before
    result = cli("asset", "import", path)
    assert result.exit_code == 2
    assert "required column 'name' is missing" in result.stderr
