"""Issue 18, "exit 1 where the user made the mistake" and "ambiguity and parsing": input a
careless or hostile user can type is refused with exit 2 (or 7 where a service is at fault),
one clear sentence, and nothing written."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from .asset_fixtures import snapshot
from .conftest import Cli, add_args
from .test_bad_input import assert_refused
from .test_import import assert_rejected


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    cli.ok(*add_args("LAP-1", serial="SER-1", purchase_cost="10.00"))
    cli.ok(*add_args("LAP-2", serial="SER-2", purchase_cost="20.00"))
    return cli


@pytest.fixture
def seeded_sqlite(sqlite_cli: Cli) -> Cli:
    """For input refused before any SQL runs, where the database makes no difference."""
    sqlite_cli.ok(*add_args("LAP-1", serial="SER-1"))
    sqlite_cli.ok(*add_args("LAP-2", serial="SER-2"))
    return sqlite_cli


# --- cursors: the checksum is public, so the content is checked ----------------------------


def forge_cursor(payload_json: str) -> str:
    """A cursor with any JSON payload and a correct checksum, as anyone can make one."""
    from assetctl.core.assets.listing import _checksum

    body = base64.urlsafe_b64encode(payload_json.encode()).rstrip(b"=")
    return body.decode() + "." + _checksum(body)


def _payload(sort: str, key_json: str, fingerprint: str) -> str:
    return f'{{"v":1,"s":"{sort}","f":"{fingerprint}","k":[{key_json},1]}}'


def test_forged_cursor_contents_are_refused(seeded: Cli) -> None:
    from assetctl.core.assets.listing import Filters

    fingerprint = Filters().fingerprint()
    cases = [
        ("tag", '"\\ud800"'),  # a lone surrogate: no database can store it
        ("name", '"a\\udfffb"'),
        ("created_at", '"2026-01-01T00:00:00-23:59"'),  # PostgreSQL refuses the offset
        ("created_at", '"2026-01-01T00:00:00+05:00"'),  # wire() only ever writes UTC
        ("updated_at", '"0001-01-01T00:00:00+00:00x"'),
        ("purchase_date", '"2026-02-30"'),
        ("tag", "[" * 100_000 + "]" * 100_000),  # nested 100,000 deep
    ]
    for sort, key_json in cases:
        cursor = forge_cursor(_payload(sort, key_json, fingerprint))
        line = assert_refused(
            seeded, 2, ["asset", "list", "--sort", sort, "--cursor", cursor], "--cursor"
        )
        assert "edited" in line
    deep = forge_cursor("[" * 100_000 + "]" * 100_000)
    assert_refused(seeded, 2, ["asset", "list", "--cursor", deep], "--cursor")
    # A real UTC timestamp cursor still works.
    page = seeded.ok("asset", "list", "--sort", "created_at", "--limit", "1", "-o", "json")
    cursor = page.json()["next_cursor"]
    seeded.ok("asset", "list", "--sort", "created_at", "--cursor", cursor)


ARABIC_123 = "\u0661\u0662\u0663"  # Arabic-Indic digits one, two, three


# --- import: JSON Lines depth, repeated keys, decimals; ASCII digits ------------------------


def test_jsonl_hostile_lines_are_named(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = tmp_path / "hostile.jsonl"
    path.write_text(
        '{"tag": "J-1", "name": "a", "category": "b"}\n'
        + "[" * 100_000
        + "]" * 100_000
        + "\n"
        + '{"tag": "J-3", "name": "a", "category": "b", "tag": "J-33"}\n'
        + '{"tag": "J-4", "name": "a", "category": "b", "purchase_cost": 1299.999999999999999}\n'
        + '{"tag": "J-5", "name": "a", "category": "b", "purchase_cost": "'
        + ARABIC_123
        + '"}\n'
        + '{"tag": "J-6", "name": "a", "category": "b", "purchase_cost": 1299.5}\n',
        encoding="utf-8",
    )
    lines = assert_rejected(cli, db_url, cli("asset", "import", str(path)), 2, before)
    assert "ASCII digits" in lines[2]
    assert [line.split(" (use ")[0] for line in lines] == [
        "line 2: the JSON is nested too deeply (a line is one flat object)",
        "line 3, column tag: field 'tag' appears more than once",
        "line 4, column purchase_cost, value '1299.999999999999999': purchase_cost "
        "'1299.999999999999999' is not a valid amount",
        f"line 5, column purchase_cost, value '{ARABIC_123}': purchase_cost '{ARABIC_123}' "
        "is not a valid amount",
    ], lines
    # The same file without the bad lines imports, the cost as written.
    path.write_text(
        '{"tag": "J-6", "name": "a", "category": "b", "purchase_cost": 1299.5}\n'
        '{"tag": "J-7", "name": "a", "category": "b", "purchase_cost": 12}\n',
        encoding="utf-8",
    )
    cli.ok("asset", "import", str(path))
    shown = cli.ok("asset", "show", "J-6", "-o", "json").json()
    assert shown["purchase_cost"] == 1299.5
    assert cli.ok("asset", "show", "J-7", "-o", "json").json()["purchase_cost"] == 12


def test_costs_and_dates_take_ascii_digits_only(seeded_sqlite: Cli) -> None:
    for value in (ARABIC_123, "\uff11\uff12\uff13", "12.\u0665"):
        assert_refused(
            seeded_sqlite, 2, add_args("NEW-1", purchase_cost=value), "purchase_cost", repr(value)
        )
    assert_refused(
        seeded_sqlite,
        2,
        add_args("NEW-1", purchase_date="\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0661"),
        "purchase_date",
    )
    assert_refused(
        seeded_sqlite, 2, ["asset", "update", "LAP-1", "--purchase-cost", "\u0665"], "purchase_cost"
    )


def test_csv_cost_in_other_digits_names_the_line(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    path = tmp_path / "f.csv"
    path.write_text(f"tag,name,category,purchase_cost\nC-1,a,b,10\nC-2,a,b,{ARABIC_123}\n", "utf-8")
    lines = assert_rejected(cli, db_url, cli("asset", "import", str(path)), 2, before)
    assert [line.split(" (use ")[0] for line in lines] == [
        f"line 3, column purchase_cost, value '{ARABIC_123}': purchase_cost '{ARABIC_123}' "
        "is not a valid amount"
    ]
