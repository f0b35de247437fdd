"""The two ways a PostgreSQL import writes. A plain import of new assets COPYs straight into
`assets` (`core.bulk.direct`); --update, --dry-run, and any plain import that turns out to
have a problem go through the staging table and its checks (`core.bulk.staging`). These tests
hold the two to the same result, and check the hand-over from one to the other, also when
the file comes through a pipe and must be read a second time."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from assetctl.core.bulk import direct, replay

from .asset_fixtures import connect, counts, insert_assets, snapshot
from .conftest import Cli, CliResult
from .test_import import assert_rejected, write


def on_postgres(test: Any) -> Any:
    return pytest.mark.postgres(
        pytest.mark.parametrize("database", ["postgres"], indirect=True)(test)
    )


SOURCE = {"provider": "ollama", "model": "llava:13b", "at": "2026-01-02T03:04:05Z"}
HEADER = (
    "tag,name,category,status,serial,manufacturer,model,location,assignee,purchase_date,"
    "purchase_cost,warranty_until,notes,description,description_source"
)
# Values that COPY's CSV and text formats and JSON each escape differently.
TRICKY = [
    'T-1,Café ☕ 東京,Laptop,,SN-1,Lenovo,"T14, Gen 4",Site A,,2024-03-01,1299.5,2027-01-01,'
    '"line one\nline two","A ""quoted"" word",' + '"' + json.dumps(SOURCE).replace('"', '""') + '"',
    "T-2,Back\\slash,phone,,,,,,bob@example.com,,0,,C:\\temp\\x,,",
    'T-3,Tab,monitor,in_repair,SN-3,,,,,,,,"a\tb\\tc",\\N,',
    'T-4,Null-ish,monitor,retired,NULL,,,,,,0.07,,"\\.\n\\.\nend",,',
]


def _file(tmp_path: Path, count: int) -> str:
    """TRICKY, then plain rows past the first blocks of reserved ids (256, 512, 1024) and
    past one piece of COPY text (2,000 rows)."""
    plain = [
        f"P-{i:05d},Plain {i},laptop,,SN-P{i},,,Site {i % 7},,,{i}.25,,,," for i in range(count)
    ]
    return write(tmp_path, "assets.csv", "\n".join([HEADER, *TRICKY, *plain]) + "\n")


def _normalised(db_url: str) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """Assets in id order without the values that differ between two runs (ids, times), and
    their events with the asset named by tag."""
    assets, events = snapshot(db_url)
    tags = {a["id"]: a["tag"] for a in assets}
    moving = {"id", "created_at", "updated_at"}
    return (
        [{k: v for k, v in a.items() if k not in moving} for a in assets],
        [(tags[e["asset_id"]], e["action"], e["actor"], e["changes"]) for e in events],
    )


def _truncate(db_url: str) -> None:
    with connect(db_url) as conn:
        conn.execute(text("TRUNCATE assets, asset_events CASCADE"))


class _Spy:
    """Counts the fast path's attempts and how many of them gave up."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.gave_up = 0
        real = direct.insert_new

        def spy(*args: Any, **kwargs: Any) -> None:
            self.calls += 1
            try:
                real(*args, **kwargs)
            except direct.NeedsChecks:
                self.gave_up += 1
                raise

        monkeypatch.setattr(direct, "insert_new", spy)


@on_postgres
def test_fast_path_writes_what_the_staging_path_writes(
    cli: Cli, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    path = _file(tmp_path, 2100)
    assert "2104 created" in cli.ok("asset", "import", path).stderr
    assert (spy.calls, spy.gave_up) == (1, 0)
    fast = _normalised(db_url)

    _truncate(db_url)
    # --update with no existing tag creates every row, through the staging table.
    assert "2104 created" in cli.ok("asset", "import", "--update", path).stderr
    assert spy.calls == 1
    assert _normalised(db_url) == fast

    assets, events = fast
    assert [a["tag"] for a in assets[:4]] == ["T-1", "T-2", "T-3", "T-4"]  # ids in file order
    one, two, three, four = assets[:4]
    assert one["name"] == "Café ☕ 東京" and one["model"] == "T14, Gen 4"
    assert one["notes"] == "line one\nline two" and one["description"] == 'A "quoted" word'
    assert one["description_source"] == SOURCE and one["purchase_cost_cents"] == 129950
    assert two["name"] == "Back\\slash" and two["notes"] == "C:\\temp\\x"
    assert two["status"] == "assigned"  # the default with an assignee
    assert three["notes"] == "a\tb\\tc"
    assert three["description"] == "\\N"  # text, not COPY's NULL marker
    # A line of its own that is COPY's end-of-data marker, inside a quoted value.
    assert four["serial"] == "NULL" and four["notes"] == "\\.\n\\.\nend"
    assert events[0][1:3] == ("imported", one["created_by"])
    assert events[0][3]["description_source"] == {"old": None, "new": SOURCE}
    assert events[0][3]["purchase_cost"] == {"old": None, "new": "1299.50"}
    assert events[3][3]["purchase_cost"] == {"old": None, "new": "0.07"}
    assert "assignee" not in events[0][3]
    assert len(events) == 2104


def _late_problems(db_url: str, count: int) -> str:
    """`count` good rows; near the end an existing tag, a bad date and a duplicate serial."""
    insert_assets(db_url, [{"tag": "OLD-1", "name": "kept", "category": "laptop"}])
    rows = [f"G-{i:05d},Good {i},laptop,S-{i}," for i in range(count)]
    rows[count - 30] = "OLD-1,again,laptop,,"
    rows[count - 20] = f"G-{count - 20:05d},Bad date,laptop,,2024-13-40"
    rows[count - 10] = f"G-{count - 10:05d},Dup serial,laptop,S-5,"
    return "tag,name,category,serial,purchase_date\n" + "\n".join(rows) + "\n"


@on_postgres
@pytest.mark.parametrize("via", ["file", "pipe"])
def test_a_late_problem_is_reported_in_full_from_a_file_or_a_pipe(
    cli: Cli, db_url: str, tmp_path: Path, via: str
) -> None:
    """The fast path gives up thousands of rows in (after several COPY blocks); the staging
    path reads the input again, a pipe included, and lists every problem."""
    count = 3000
    content = _late_problems(db_url, count)
    before = snapshot(db_url)
    if via == "file":
        result: CliResult = cli.sub("asset", "import", write(tmp_path, "late.csv", content))
    else:
        result = cli.sub("asset", "import", "-", input=content)
    lines = assert_rejected(cli, db_url, result, 2, before)
    first = count - 30 + 2  # file line of rows[count - 30]: header is line 1
    assert lines == [
        f"line {first}, column tag, value 'OLD-1': an asset with tag 'OLD-1' already exists "
        "(use --update to update it)",
        f"line {first + 10}, column purchase_date, value '2024-13-40': "
        "purchase_date '2024-13-40' is not a calendar date (use YYYY-MM-DD)",
        f"line {first + 20}, column serial, value 'S-5': duplicate serial 'S-5' (first on line 7)",
    ]


@on_postgres
def test_a_conflict_only_the_database_sees_falls_back_to_exit_6(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A duplicate tag at the end of a piped file: Python sees nothing wrong, the unique
    index stops the COPY, and the staging path names both lines."""
    spy = _Spy(monkeypatch)
    rows = [f"U-{i:04d},n,laptop" for i in range(1500)] + ["U-0003,again,laptop"]
    before = snapshot(db_url)
    result = cli("asset", "import", "-", input="tag,name,category\n" + "\n".join(rows) + "\n")
    lines = assert_rejected(cli, db_url, result, 6, before)
    assert lines == [
        "line 1502, column tag, value 'U-0003': duplicate tag 'U-0003' (first on line 5)"
    ]
    assert (spy.calls, spy.gave_up) == (1, 1)
    # The rolled-back attempt left the database usable and the import can be fixed.
    fixed = "tag,name,category\n" + "\n".join(rows[:-1]) + "\n"
    assert "1500 created" in cli.ok("asset", "import", "-", input=fixed).stderr
    assert counts(db_url) == (1500, 1500)


@on_postgres
def test_a_row_without_a_required_key_falls_back(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON Lines may leave a key out altogether; the staging path names the field."""
    spy = _Spy(monkeypatch)
    before = snapshot(db_url)
    lines = '{"tag": "J-1", "name": "n", "category": "c"}\n{"tag": "J-2", "category": "c"}\n'
    result = cli("asset", "import", "--format", "jsonl", "-", input=lines)
    assert assert_rejected(cli, db_url, result, 2, before) == [
        "line 2, column name: name is required for a new asset"
    ]
    assert (spy.calls, spy.gave_up) == (1, 1)


@on_postgres
def test_a_small_file_reserves_exactly_its_ids(cli: Cli, db_url: str, tmp_path: Path) -> None:
    """Ids come from the sequence in blocks; an import that fits in the first block takes
    only as many as it has rows, so small imports leave no gaps (an empty one takes none)."""

    def next_id() -> int:
        with connect(db_url) as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT COALESCE(last_value + increment_by, start_value) "
                        "FROM pg_sequences WHERE sequencename = 'assets_id_seq'"
                    )
                ).scalar_one()
            )

    start = next_id()
    empty = cli.ok("asset", "import", write(tmp_path, "e.csv", HEADER + "\n"))
    assert "Imported 0 rows" in empty.stderr
    assert next_id() == start
    three = write(tmp_path, "3.csv", "tag,name,category\nS-1,a,b\nS-2,a,b\nS-3,a,b\n")
    assert "3 created" in cli.ok("asset", "import", three).stderr
    assert next_id() == start + 3
    assets, _ = snapshot(db_url)
    assert [(a["id"], a["tag"]) for a in assets] == [
        (start, "S-1"), (start + 1, "S-2"), (start + 2, "S-3")
    ]  # fmt: skip


def test_replay_of_a_seekable_file_seeks_back() -> None:
    stream = io.BufferedReader(io.BytesIO(b"a,b\n1,2\n3,4\n"))
    stream.read(2)
    with replay.rereadable(stream) as (first, again):
        assert first is stream
        assert first.read() == b"b\n1,2\n3,4\n"
        assert again().read() == b"b\n1,2\n3,4\n"


def test_replay_of_a_pipe_gives_every_byte_again() -> None:
    """Read part of a pipe, give up, and read it all again: what was read comes from the
    spool, the rest from the pipe, with nothing lost or repeated at the seam."""
    data = b"".join(b"row %06d,%s\n" % (i, b"x" * (i % 50)) for i in range(40_000))
    read_end, write_end = os.pipe()

    def feed() -> None:
        with open(write_end, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    with open(read_end, "rb") as pipe:
        assert not pipe.seekable()
        with replay.rereadable(pipe) as (first, again):
            head = first.readlines(300_000)
            assert 0 < sum(map(len, head)) < len(data)
            assert again().read() == data
    writer.join()
