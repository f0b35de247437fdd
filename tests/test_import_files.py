"""Files people really have: encodings and line ends, `--map` and mapping files, dates and
decimal commas, and idempotent re-imports (`--match`, unchanged rows write nothing, the
`-o json` report, export | edit | import --update). SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pytest

from .asset_fixtures import counts, events_of, insert_assets, snapshot
from .cache_helpers import postgres_only
from .conftest import Cli
from .test_cache import rcli  # noqa: F401 - the Redis-backed CLI fixture
from .test_import import assert_rejected, listed, problem_lines, write

ROWS = [("E-1", "Café laptop", "laptop"), ("E-2", "Zürich dock", "dock")]


def _text(rows: Sequence[tuple[str, ...]], sep: str = ",", end: str = "\n") -> str:
    return end.join(sep.join(cells) for cells in [("tag", "name", "category"), *rows]) + end


# --- encodings and line ends ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "data", "extra"),
    [
        ("utf-8", _text(ROWS).encode(), ()),
        ("utf-8 bom", b"\xef\xbb\xbf" + _text(ROWS).encode(), ()),
        ("utf-16 bom, tabs", _text(ROWS, sep="\t", end="\r\n").encode("utf-16"), ()),
        ("utf-16-be bom", _text(ROWS).encode("utf-16-be").join([b"\xfe\xff", b""]), ()),
        ("cp1252", _text(ROWS).encode("cp1252"), ("--encoding", "cp1252")),
        ("latin-1 CR", _text(ROWS, end="\r").encode("latin-1"), ("--encoding", "latin-1")),
        ("CRLF", _text(ROWS, end="\r\n").encode(), ()),
        ("CR (Mac Excel)", _text(ROWS, end="\r").encode(), ()),
        ("semicolons", _text(ROWS, sep=";").encode(), ()),
    ],
)
def test_encodings_and_line_ends(
    cli: Cli, tmp_path: Path, label: str, data: bytes, extra: tuple[str, ...]
) -> None:
    path = write(tmp_path, "f.csv", data)
    result = cli("asset", "import", path, *extra)
    assert result.exit_code == 0, (label, result.stderr)
    assets = listed(cli)
    assert {t: (a["name"], a["category"]) for t, a in assets.items()} == {
        tag: (name, category) for tag, name, category in ROWS
    }


def test_crlf_inside_quoted_notes_and_cr_line_numbers(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    body = 'tag,name,category,notes\rN-1,a,c,"one\r\ntwo"\rN-2,a,,x\r'
    before = snapshot(db_url)
    path = write(tmp_path, "cr.csv", body.encode())
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    # The quoted note spans lines 2-3, so N-2 is on line 4.
    assert lines == ["line 4, column category, value '': category must not be empty (got '')"]
    cli.ok("asset", "import", write(tmp_path, "ok.csv", body.replace(",,x", ",c,x").encode()))
    assert listed(cli)["N-1"]["notes"] == "one\ntwo"


def test_bad_bytes_are_listed_with_line_and_offset(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    data = "tag,name,category\nB-1,Café,c\r\nB-2,ok,c\nB-3,Naïve,c\n".encode("cp1252")
    path = write(tmp_path, "b.csv", data)
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    assert [line.split(": byte")[0] for line in lines] == [
        "line 2, value 'e9': line 2 is not valid UTF-8",
        "line 4, value 'ef': line 4 is not valid UTF-8",
    ]
    assert "byte 0xe9 at byte offset 25 of the file" in lines[0]
    assert "byte 0xef at byte offset 45 of the file" in lines[1]
    # A file in another encoding than the one given: UTF-8 read as ASCII.
    utf8 = write(tmp_path, "u.csv", "tag,name,category\nU-1,Café,c\n".encode())
    result = cli("asset", "import", utf8, "--encoding", "ascii")
    lines = assert_rejected(cli, db_url, result, 2, before)
    assert lines[0].startswith("line 2, value 'c3': line 2 is not valid ascii: byte 0xc3 at")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty: a CSV import needs a header row"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "the file is binary (it holds NUL bytes)"),
        (b"PK\x03\x04\x14\x00\x06\x00", "the file is binary (it holds NUL bytes)"),
    ],
)
def test_empty_and_binary_files(
    cli: Cli, db_url: str, tmp_path: Path, data: bytes, message: str
) -> None:
    before = snapshot(db_url)
    result = cli("asset", "import", write(tmp_path, "x.csv", data))
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(db_url) == before


def test_header_only_is_nothing_to_import(cli: Cli, db_url: str, tmp_path: Path) -> None:
    result = cli.sub("asset", "import", write(tmp_path, "h.csv", "tag,name,category\r\n"))
    assert result.exit_code == 0, result.stderr
    assert "Imported 0 rows (csv): the file has none, nothing to import." in result.stderr
    assert counts(db_url) == (0, 0)


def test_unknown_encoding_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", _text(ROWS))
    result = cli("asset", "import", path, "--encoding", "klingon")
    assert result.exit_code == 2
    assert "encoding 'klingon' is not known" in result.stderr


# --- --map and mapping files ---------------------------------------------------------------

SHEET = (
    "Asset #,Device,Type,Bought,Price,Owner\n"
    'H-1,ThinkPad,Laptop,23.01.2023,"1.299,50",\n'
    'H-2,Dock,dock,01.02.2023,"89,00",\n'
)


def test_map_reads_a_homegrown_sheet(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "sheet.csv", SHEET)
    result = cli(
        "asset", "import", path,
        "--map", "Asset #=tag", "--map", "Device=name", "--map", "Type=category",
        "--map", "Bought=purchase_date", "--map", "Price=purchase_cost",
        "--map", "Owner=ignore", "--date-format", "%d.%m.%Y", "--decimal-comma",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assets = listed(cli)
    assert (assets["H-1"]["purchase_date"], assets["H-1"]["purchase_cost"]) == (
        "2023-01-23", 1299.5,
    )  # fmt: skip
    assert (assets["H-2"]["purchase_date"], assets["H-2"]["purchase_cost"]) == ("2023-02-01", 89)
    assert "Not kept: Owner (--map says ignore)." in result.stderr


def test_mapping_file_with_flags_winning(cli: Cli, tmp_path: Path) -> None:
    mapping = tmp_path / "sheet.toml"
    mapping.write_text(
        'date_format = "%m.%d.%Y"\ndecimal_comma = true\n'
        '[columns]\n"Asset #" = "tag"\nDevice = "name"\nType = "category"\n'
        'Bought = "purchase_date"\nPrice = "purchase_cost"\nOwner = "assignee"\n'
        '[statuses]\n"In Use" = "assigned"\n'
    )
    path = write(tmp_path, "sheet.csv", SHEET)
    cli.ok("asset", "import", path, "--map-file", str(mapping), "--date-format", "%d.%m.%Y")
    assert listed(cli)["H-1"]["purchase_date"] == "2023-01-23"
    bad = tmp_path / "bad.toml"
    bad.write_text('[columns]\n"Asset #" = "tagg"\n')
    result = cli("asset", "import", path, "--map-file", str(bad))
    assert result.exit_code == 2
    assert (
        "mapping file" in result.stderr
        and "'tagg' (for column 'Asset #') is not an asset field" in result.stderr
    )
    typo = tmp_path / "typo.toml"
    typo.write_text('date_fromat = "%d.%m.%Y"\n')
    result = cli("asset", "import", path, "--map-file", str(typo))
    assert result.exit_code == 2
    assert "unknown key 'date_fromat'" in result.stderr


def test_mapped_column_missing_or_mapped_twice(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(tmp_path, "sheet.csv", SHEET)
    base = ("--map", "Device=name", "--map", "Type=category", "--ignore-unknown")
    result = cli("asset", "import", path, "--map", "Asset No=tag", *base)
    lines = assert_rejected(cli, db_url, result, 2, before)
    assert lines[0] == (
        "line 1, column Asset No: --map names column 'Asset No', which the header does not "
        "have (it has: Asset #, Device, Type, Bought, Price, Owner)"
    )
    assert "line 1, column tag: required column 'tag' is missing" in lines
    # Two source columns for one field: by two flags, or a flag and a column of that name.
    twice = cli("asset", "import", path, "--map", "Asset #=tag", "--map", "Owner=tag", *base)
    assert twice.exit_code == 2
    assert "columns 'Asset #' and 'Owner' are both mapped to tag" in twice.stderr
    named = write(tmp_path, "named.csv", "tag,Asset #,name,category\nA,B,c,d\n")
    result = cli("asset", "import", named, "--map", "Asset #=tag")
    lines = assert_rejected(cli, db_url, result, 2, before)
    assert lines == [
        "line 1, column Asset #: columns 'tag' and 'Asset #' both fill tag; map only one of "
        "them (--map 'Column=ignore' leaves one out)"
    ]
    assert counts(db_url) == (0, 0)


# --- dates ---------------------------------------------------------------------------------


def _dates(tmp_path: Path, *values: str) -> str:
    rows = "".join(f"D-{i},n,c,{v}\n" for i, v in enumerate(values, 1))
    return write(tmp_path, "d.csv", "tag,name,category,purchase_date\n" + rows)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("1/23/23", "2/1/2023", "2024-03-05"), ["2023-01-23", "2023-02-01", "2024-03-05"]),
        (("23/1/23", "2/1/2023"), ["2023-01-23", "2023-01-02"]),
        (("23.01.2023", "05.06.2023"), ["2023-01-23", "2023-06-05"]),
    ],
)
def test_a_column_that_fits_one_form_is_guessed(
    cli: Cli, tmp_path: Path, values: tuple[str, ...], expected: list[str]
) -> None:
    cli.ok("asset", "import", _dates(tmp_path, *values))
    assets = listed(cli)
    assert [assets[f"D-{i}"]["purchase_date"] for i in range(1, len(values) + 1)] == expected


def test_ambiguous_and_impossible_dates_are_listed(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = _dates(tmp_path, "1/2/23", "2023-01-01", "3/4/2023", "13/13/23")
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    ambiguous = (
        "could be month/day/year or day/month/year, and no date in the column tells "
        "(pass --date-format, e.g. %m/%d/%y (US) or %d/%m/%y)"
    )
    assert lines == [
        f"line 2, column purchase_date, value '1/2/23': purchase_date '1/2/23': {ambiguous}",
        f"line 4, column purchase_date, value '3/4/2023': purchase_date '3/4/2023': {ambiguous}",
        "line 5, column purchase_date, value '13/13/23': purchase_date '13/13/23' is not a "
        "date as month/day/year nor as day/month/year",
    ]
    mixed = _dates(tmp_path, "1/23/23", "23/1/23")
    lines = assert_rejected(cli, db_url, cli("asset", "import", mixed), 2, before)
    assert len(lines) == 2 and all("fit only month/day/year and others" in line for line in lines)
    explicit = _dates(tmp_path, "1/2/23", "3/4/23")
    cli.ok("asset", "import", explicit, "--date-format", "%d/%m/%y")
    assert listed(cli)["D-1"]["purchase_date"] == "2023-02-01"


def test_date_guess_from_a_pipe_on_the_fast_path(cli: Cli) -> None:
    body = "tag,name,category,warranty_until\nP-1,n,c,12/31/26\nP-2,n,c,1/2/27\n"
    cli.ok("asset", "import", "-", input=body)
    assert listed(cli)["P-2"]["warranty_until"] == "2027-01-02"


# --- idempotent re-imports -----------------------------------------------------------------


def test_second_run_writes_nothing_and_reports_each_row(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "i.csv",
        "tag,name,category,serial,location\nI-1,a,c,S-1,Berlin\nI-2,b,c,S-2,Paris\n",
    )
    first = cli("asset", "import", path, "--update", "-o", "json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["actions"] == [
        {"line": 2, "tag": "I-1", "action": "created"},
        {"line": 3, "tag": "I-2", "action": "created"},
    ]
    before = snapshot(db_url)
    again = cli("asset", "import", path, "--update", "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert [a["action"] for a in again.json()["actions"]] == ["unchanged", "unchanged"]
    assert "0 created, 0 updated, 2 unchanged. Nothing changed." in again.stderr
    assert snapshot(db_url) == before  # no history event, no version bump
    # Matched by serial: the file renames a tag and moves an asset.
    moved = write(tmp_path, "m.csv", "serial,tag,location\nS-1,I-1-NEW,Rome\nS-2,I-2,Paris\n")
    result = cli("asset", "import", moved, "--update", "--match", "serial", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert [a["action"] for a in result.json()["actions"]] == ["updated", "unchanged"]
    assets = listed(cli)
    assert (assets["I-1-NEW"]["serial"], assets["I-1-NEW"]["location"]) == ("S-1", "Rome")
    events = events_of(db_url, "I-1-NEW")
    assert events[-1]["changes"] == {
        "tag": {"old": "I-1", "new": "I-1-NEW"},
        "location": {"old": "Berlin", "new": "Rome"},
    }


def test_match_serial_conflicts(cli: Cli, db_url: str, tmp_path: Path) -> None:
    insert_assets(
        db_url,
        [
            {"tag": "K-1", "name": "a", "category": "c", "serial": "S-1"},
            {"tag": "K-2", "name": "b", "category": "c", "serial": "S-2"},
        ],
    )
    before = snapshot(db_url)
    path = write(tmp_path, "k.csv", "serial,tag\nS-1,K-2\n,\n")
    result = cli("asset", "import", path, "--update", "--match", "serial")
    lines = assert_rejected(cli, db_url, result, 2, before)
    assert lines == [
        "line 2, column tag, value 'K-2': tag 'K-2' is already used by another asset",
        "line 3: the row has neither a serial to match nor a tag for a new asset",
    ]


def test_repeat_import_does_not_invalidate_the_cache(rcli: Cli, tmp_path: Path) -> None:  # noqa: F811
    postgres_only(rcli.env["ASSETCTL_DATABASE_URL"])  # SQLite: test_sqlite_ignores_the_cache
    path = write(tmp_path, "c.csv", "tag,name,category\nC-1,a,c\n")
    rcli.ok("asset", "import", path)
    rcli.ok("asset", "list")
    hits = rcli.ok("cache", "stats", "-o", "json").json()["hits"]
    rcli.ok("asset", "import", path, "--update")
    rcli.ok("asset", "list")
    assert rcli.ok("cache", "stats", "-o", "json").json()["hits"] == hits + 1
    changed = write(tmp_path, "d.csv", "tag,name,category\nC-1,b,c\n")
    rcli.ok("asset", "import", changed, "--update")
    rcli.ok("asset", "list")
    assert rcli.ok("cache", "stats", "-o", "json").json()["hits"] == hits + 1


def test_export_edit_import_round_trips(cli: Cli, db_url: str, tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "s.csv",
        "tag,name,category,serial,purchase_date,purchase_cost,notes,assignee\n"
        'R-1,One,laptop,S-1,2024-01-02,1299.50,"multi\nline",ana@example.com\n'
        "R-2,Two,phone,,,,,\n",
    )
    cli.ok("asset", "import", source)
    exported = cli.ok("asset", "export").stdout
    header = next(csv.reader(io.StringIO(exported)))
    # Export's columns are exactly what import reads (system columns are skipped).
    again = cli("asset", "import", write(tmp_path, "e.csv", exported), "--update", "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["unchanged"] == 2 and again.json()["ignored_columns"] == [
        {"column": name, "reason": "managed by assetctl"}
        for name in header
        if name in ("id", "version", "created_at", "updated_at", "created_by", "updated_by",
                    "deleted_at", "last_audited_at", "audited_by")
    ]  # fmt: skip
    edited = exported.replace(",One,", ",One (edited),")
    result = cli("asset", "import", write(tmp_path, "x.csv", edited), "--update")
    assert "0 created, 1 updated, 1 unchanged" in result.stderr
    assets = listed(cli)
    assert assets["R-1"]["name"] == "One (edited)"
    assert assets["R-1"]["notes"] == "multi\nline"
    assert problem_lines(result) == []


def test_csv_options_on_json_lines_are_refused(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"tag": "J-1", "name": "n", "category": "c"}\n')
    result = cli("asset", "import", path, "--map", "Asset #=tag")
    assert result.exit_code == 2
    assert "--map, --date-format and --decimal-comma apply to CSV files" in result.stderr
    assert counts(db_url) == (0, 0)


def test_blank_lines_above_the_header_keep_line_numbers(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    before = snapshot(db_url)
    path = write(tmp_path, "b.csv", "\n\ntag,name,category\nB-1,a,\n")
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    assert lines == ["line 4, column category, value '': category must not be empty (got '')"]


def test_day_first_dates_from_a_real_pipe_are_read_again(cli: Cli, db_url: str) -> None:
    """The first pass reads month-first; a day-first column sends the import back to read
    the piped input again from its spooled copy (installed entry point, real pipe)."""
    rows = "".join(f"P-{i},n,c,{1 + i % 28}/0{1 + i % 9}/2024\n" for i in range(3000))
    body = "tag,name,category,purchase_date\n" + rows + "P-X,n,c,31/12/2024\n"
    result = cli.sub("asset", "import", "-", input=body)
    assert result.exit_code == 0, result.stderr
    assert "3001 created" in result.stderr
    assets = listed(cli)
    assert assets["P-X"]["purchase_date"] == "2024-12-31"
    assert assets["P-1"]["purchase_date"] == "2024-02-02"
    assert assets["P-12"]["purchase_date"] == "2024-04-13"
    assert counts(db_url) == (3001, 3001)


def test_match_serial_needs_the_serial_column(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = write(tmp_path, "t.csv", "tag,location\nT-1,Rome\n")
    result = cli("asset", "import", path, "--update", "--match", "serial")
    lines = assert_rejected(cli, db_url, result, 2, before)
    # The row cannot match without a serial, so it would be a new asset: that is listed too.
    assert lines == [
        "line 1, column serial: required column 'serial' is missing",
        "line 2, column category: category is required for a new asset",
        "line 2, column name: name is required for a new asset",
    ]
