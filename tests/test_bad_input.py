"""Issue 2, "Bad input": each case exits with the exact code, prints one line naming the field
and the value on stderr (plus at most a hint), and writes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .asset_fixtures import error_json, snapshot, stderr_line
from .conftest import Cli, add_args, base_env, create_pg_database, drop_pg_database, pg_url_for


def _seed(cli: Cli) -> Cli:
    """Two live assets and one deleted one, so "nothing written" has something to protect."""
    cli.ok(*add_args("LAP-1", serial="SER-1"))
    cli.ok(*add_args("LAP-2", serial="SER-2", location="Berlin"))
    cli.ok(*add_args("OLD-1"))
    cli.ok("asset", "delete", "OLD-1", "--yes")
    return cli


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    """Seeded, on SQLite and on PostgreSQL: for what the database decides."""
    return _seed(cli)


@pytest.fixture
def seeded_sqlite(sqlite_cli: Cli) -> Cli:
    """Seeded, SQLite only: for input refused before any SQL runs (flag values, sort keys,
    cursors), where the database cannot make a difference and a second run would only cost
    time. Each test still proves nothing was written."""
    return _seed(sqlite_cli)


def assert_refused(cli: Cli, code: int, args: list[str], *names: str, stdin: str = "") -> str:
    """Run `args`, expect exit `code`, a one-line error containing every one of `names`, and
    no change at all in the assets and history tables."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    before = snapshot(url)
    result = cli(*args, input=stdin)
    assert result.exit_code == code, (result.exit_code, result.stderr)
    line = stderr_line(result)
    for name in names:
        assert name in line, (name, line)
    assert snapshot(url) == before
    return line


# --- conflicts and not found ------------------------------------------------------------------


def test_duplicate_tag_or_serial(seeded: Cli) -> None:
    seeded.ok(*add_args("T" * 64))  # the longest tag allowed fits the column
    assert_refused(seeded, 6, [*add_args("LAP-1")], "tag", "'LAP-1'")
    assert_refused(seeded, 6, [*add_args("LAP-9", serial="SER-2")], "serial", "'SER-2'")
    assert_refused(seeded, 6, ["asset", "update", "LAP-2", "--tag", "LAP-1"], "tag", "'LAP-1'")
    assert_refused(
        seeded, 6, ["asset", "update", "LAP-2", "--serial", "SER-1"], "serial", "'SER-1'"
    )


NOT_FOUND = [
    ["asset", "show", "NOPE-1"],
    ["asset", "show", "99999"],
    ["asset", "show", "id:99999"],
    ["asset", "show", "99999999999999999999999"],  # beyond any 64-bit id
    ["asset", "update", "id:99999999999999999999", "--name", "x"],
    ["asset", "update", "NOPE-1", "--name", "x"],
    ["asset", "assign", "NOPE-1", "--to", "x"],
    ["asset", "unassign", "NOPE-1"],
    ["asset", "delete", "NOPE-1", "--yes"],
    ["asset", "restore", "NOPE-1"],
    ["asset", "restore", "LAP-1"],  # live, not deleted
    ["asset", "history", "NOPE-1"],
]


def test_unknown_tag_or_id(seeded: Cli) -> None:
    for args in NOT_FOUND:
        ref = args[2].removeprefix("id:")
        assert_refused(seeded, 3, args, repr(ref) if not ref.isdigit() else ref)


# --- field values --------------------------------------------------------------------------------


BAD_VALUES = [
    ("--status", "broken", "status"),
    ("--status", "", "status"),
    ("--purchase-date", "2026-02-30", "purchase_date"),
    ("--purchase-date", "yesterday", "purchase_date"),
    ("--purchase-date", "2026-2-3", "purchase_date"),
    ("--warranty-until", "2026-02-30", "warranty_until"),
    ("--warranty-until", "yesterday", "warranty_until"),
    ("--purchase-cost", "-5", "purchase_cost"),
    ("--purchase-cost", "12,50", "purchase_cost"),
    ("--purchase-cost", "abc", "purchase_cost"),
    ("--purchase-cost", "1.234", "purchase_cost"),
    ("--tag", "", "tag"),
    ("--tag", "   ", "tag"),
    ("--tag", "T" * 65, "tag"),
    ("--name", "", "name"),
    ("--name", " \t ", "name"),
]


def test_bad_field_values_on_add_and_update(seeded_sqlite: Cli) -> None:
    for flag, value, field in BAD_VALUES:
        base = ["asset", "add", "--tag", "NEW-1", "--name", "New", "--category", "laptop"]
        if flag in ("--tag", "--name"):
            base = base[: base.index(flag)] + base[base.index(flag) + 2 :]
        shown = repr(value)
        assert_refused(seeded_sqlite, 2, [*base, f"{flag}={value}"], field, shown)
        if flag == "--status" and value == "":
            continue  # an empty update value means "clear"; see the next test
        assert_refused(
            seeded_sqlite, 2, ["asset", "update", "LAP-1", f"{flag}={value}"], field, shown
        )


def test_more_bad_values(seeded_sqlite: Cli) -> None:
    # A negative amount as its own argument is still a value, not an option.
    assert_refused(
        seeded_sqlite, 2, [*add_args("NEW-1"), "--purchase-cost", "-5"], "purchase_cost", "'-5'"
    )
    assert_refused(seeded_sqlite, 2, ["asset", "update", "LAP-1", "--status="], "status")
    assert_refused(seeded_sqlite, 2, ["asset", "assign", "LAP-1", "--to", "  "], "assignee")
    assert_refused(seeded_sqlite, 2, ["asset", "list", "--status", "broken"], "status", "'broken'")
    for char in ("\x07", "\x1b", "\t", "\n", "\u202e", "\u2028"):
        value = f"LAP{char}3"
        line = assert_refused(seeded_sqlite, 2, [*add_args(value)], "tag", "control", "'LAP")
        assert char not in line  # shown escaped: a tag must not drive the terminal


# --- listing --------------------------------------------------------------------------------------


def test_unknown_sort_and_bad_limits(seeded_sqlite: Cli) -> None:
    for sort, shown in (
        ("price", "'price'"),
        ("deleted_at", "'deleted_at'"),
        ("tag;drop table assets", "'tag;drop table assets'"),
        ("tag:up", "'up'"),
    ):
        assert_refused(seeded_sqlite, 2, ["asset", "list", "--sort", sort], "sort", shown)
    for args in (["--limit", "0"], ["--limit", "1001"], ["--limit", "x"]):
        assert_refused(seeded_sqlite, 2, ["asset", "list", *args], "--limit")
    assert_refused(seeded_sqlite, 2, ["asset", "list", "--all", "--limit", "5"], "--all", "--limit")


def _first_cursor(cli: Cli, *args: str) -> str:
    page = cli.ok("asset", "list", "--limit", "1", *args, "-o", "json").json()
    cursor: str = page["next_cursor"]
    assert cursor
    return cursor


def _forge(payload: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return body + ".000000000000"


def test_bad_cursors(seeded_sqlite: Cli) -> None:
    for cursor in (
        "abc",
        "not.a-cursor",
        _forge({"v": 1, "s": "tag", "f": "x", "k": ["LAP-1", 1]}),
        "eyJ2IjoxfQ",
    ):
        assert_refused(seeded_sqlite, 2, ["asset", "list", "--cursor", cursor], "cursor")
    # An empty --cursor is the same as none: the first page.
    assert len(seeded_sqlite.ok("asset", "list", "--cursor", "", "-o", "json").json()["items"]) == 2

    cursor = _first_cursor(seeded_sqlite)
    body, _, check = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["k"][1] = payload["k"][1] + 1
    edited_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    for edited in (
        f"{edited_body}.{check}",
        cursor[:-1] + ("0" if cursor[-1] != "0" else "1"),
        cursor[:-3],
        "x" + cursor,
    ):
        assert_refused(seeded_sqlite, 2, ["asset", "list", "--cursor", edited], "cursor")

    # A real cursor with other filters or another sort.
    for other in (
        ["--status", "in_stock"],
        ["--search", "LAP"],
        ["--location", "Berlin"],
        ["--deleted"],
        ["--sort", "name"],
        ["--sort", "tag:desc"],
    ):
        assert_refused(seeded_sqlite, 2, ["asset", "list", "--cursor", cursor, *other], "cursor")
    seeded_sqlite.ok("asset", "list", "--cursor", cursor)  # the real one still works


def test_edited_cursor_with_a_recomputed_checksum(seeded: Cli) -> None:
    """The checksum catches accidents, not someone who recomputes it: values a real listing
    could never have produced must still be refused (2), never reach the database (1)."""
    from assetctl.core.assets.listing import Filters, Sort, encode_cursor

    for sort, key, row_id in (
        ("tag", "LAP-1", 10**30),
        ("purchase_cost", 10**30, 1),
        ("id", -(10**20), 1),
        ("tag", "LAP\x001", 1),
    ):
        forged = encode_cursor(Filters(), Sort.parse(sort), key, row_id)
        assert_refused(seeded, 2, ["asset", "list", "--sort", sort, "--cursor", forged], "cursor")


# --- delete needs --yes without a terminal ----------------------------------------------------


def test_delete_without_yes_when_stdin_is_not_a_terminal(seeded: Cli) -> None:
    line = assert_refused(seeded, 2, ["asset", "delete", "LAP-1"], "'LAP-1'", stdin="y\n")
    assert "--yes" in seeded("asset", "delete", "LAP-1").stderr
    assert "delete" in line


# --- database unavailable or unmigrated -----------------------------------------------------


UNREACHABLE = "postgresql+psycopg2://u:secret@127.0.0.1:1/db"


@pytest.mark.parametrize(
    "args",
    [
        ["asset", "list"],
        ["asset", "show", "LAP-1"],
        [*add_args("LAP-1")],
        ["asset", "history", "LAP-1"],
        ["db", "current"],
        ["db", "upgrade"],
    ],
    ids=lambda args: "-".join(args[:2]),
)
def test_database_unreachable(tmp_path: Path, args: list[str]) -> None:
    cli = Cli(base_env(tmp_path, UNREACHABLE))
    result = cli(*args)
    assert result.exit_code == 7, (result.exit_code, result.stderr)
    line = stderr_line(result)
    assert "127.0.0.1:1" in line
    assert "secret" not in result.stderr
    assert "u:***@" in line

    as_json = cli(*args, "-o", "json") if args[0] == "asset" else None
    if as_json is not None:
        assert as_json.exit_code == 7
        error = error_json(as_json)
        assert error["code"] == 7 and "127.0.0.1:1" in error["message"]
        assert "secret" not in as_json.stderr


def test_database_unreachable_with_the_password_in_the_query(tmp_path: Path) -> None:
    cli = Cli(base_env(tmp_path, "postgresql+psycopg2://u@127.0.0.1:1/db?password=secret"))
    for args in (["asset", "list"], ["doctor"]):
        result = cli(*args)
        assert result.exit_code == 7
        assert "127.0.0.1:1" in result.stdout + result.stderr
        assert "secret" not in result.stdout + result.stderr


def test_unmigrated_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    cli = Cli(base_env(tmp_path, f"sqlite:///{path}"))
    for args in (["asset", "list"], [*add_args("LAP-1")], ["asset", "show", "LAP-1"]):
        result = cli(*args)
        assert result.exit_code == 7, (result.exit_code, result.stderr)
        stderr_line(result)
        assert "assetctl db upgrade" in result.stderr
        assert str(path) in result.stderr
    # Nothing was created in it: still not migrated.
    assert cli.ok("db", "current").stdout.strip() == "none"
    assert path.stat().st_size == 0 or _tables(f"sqlite:///{path}") == []


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    """ASSETCTL_DATABASE_URL pointing at some other file: the database is unusable (7), one
    line, not an "unexpected internal error" (1); doctor says FAIL instead of crashing."""
    path = tmp_path / "config.toml"
    path.write_text("this is not an SQLite database\n" * 10)
    before = path.read_bytes()
    cli = Cli(base_env(tmp_path, f"sqlite:///{path}"))
    for args in (["asset", "list"], [*add_args("LAP-1")], ["db", "current"], ["db", "upgrade"]):
        result = cli(*args)
        assert result.exit_code == 7, (args, result.exit_code, result.stderr)
        line = stderr_line(result)
        assert str(path) in line and "not a database" in line
    doctor = cli("doctor")
    assert doctor.exit_code == 7
    assert doctor.stdout.splitlines()[1].startswith("FAIL database")
    assert "Traceback" not in doctor.stderr
    assert path.read_bytes() == before


def _tables(url: str) -> list[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.fixture
def empty_pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    request.getfixturevalue("pg_database")  # skips (or fails under CI) when PG is down
    name = create_pg_database()
    try:
        yield pg_url_for(name)
    finally:
        drop_pg_database(name)


@pytest.mark.postgres
def test_unmigrated_postgres_database(tmp_path: Path, empty_pg_url: str) -> None:
    cli = Cli(base_env(tmp_path, empty_pg_url))
    for args in (["asset", "list"], [*add_args("LAP-1")]):
        result = cli(*args)
        assert result.exit_code == 7, (result.exit_code, result.stderr)
        stderr_line(result)
        assert "assetctl db upgrade" in result.stderr
        as_json = cli(*args, "-o", "json")
        assert as_json.exit_code == 7
        assert "assetctl db upgrade" in error_json(as_json)["hint"]
    assert _tables(empty_pg_url) == []


@pytest.mark.postgres
def test_refused_database_leaves_no_connection_behind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The connection that found the schema missing goes back at once; left to the garbage
    collector it was reset after its database was dropped, logging a traceback into
    whichever later command was running."""
    import gc

    name = create_pg_database()
    try:
        assert Cli(base_env(tmp_path, pg_url_for(name)))("asset", "list").exit_code == 7
    finally:
        drop_pg_database(name)
    with caplog.at_level("ERROR"):
        gc.collect()
    assert not [r for r in caplog.records if r.name.startswith("sqlalchemy")], caplog.text


# --- error shapes -------------------------------------------------------------------------------


JSON_ERRORS = [
    (["asset", "show", "NOPE-1"], 3),
    ([*add_args("LAP-1")], 6),
    ([*add_args("LAP-9", purchase_cost="abc")], 2),
    (["asset", "list", "--sort", "price"], 2),
    (["asset", "list", "--limit", "0"], 2),
    (["asset", "update", "LAP-2", "--location", "x", "--if-version", "7"], 6),
]


def test_json_errors(seeded: Cli) -> None:
    url = seeded.env["ASSETCTL_DATABASE_URL"]
    before = snapshot(url)
    for args, code in JSON_ERRORS:
        result = seeded(*args, "-o", "json")
        assert result.exit_code == code, (args, result.stderr)
        error = error_json(result)
        assert error["code"] == code
        assert isinstance(error["message"], str) and error["message"]
        assert "\n" not in error["message"]
        assert "error:" not in result.stderr  # only the JSON object, no text form besides
    assert snapshot(url) == before


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("simulated bug")


def test_unexpected_error_has_no_traceback_unless_debug(
    seeded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assetctl.core.assets.commands

    monkeypatch.setattr(assetctl.core.assets.commands, "get_asset", _boom)
    result = seeded("asset", "show", "LAP-1")
    assert result.exit_code == 1
    line = stderr_line(result)
    assert "simulated bug" in line
    assert "--debug" in result.stderr

    as_json = seeded("asset", "show", "LAP-1", "-o", "json")
    assert as_json.exit_code == 1
    assert error_json(as_json)["code"] == 1
    assert "Traceback" not in as_json.stderr

    debug = seeded("--debug", "asset", "show", "LAP-1")
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "RuntimeError: simulated bug" in debug.stderr
