"""Issue 18, "exit 1 where the user made the mistake" and "ambiguity and parsing": input a
careless or hostile user can type is refused with exit 2 (or 7 where a service is at fault),
one clear sentence, and nothing written."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from .asset_fixtures import snapshot, stderr_line
from .conftest import ASSETCTL_BIN, Cli, add_args, base_env
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
            seeded_sqlite,
            2,
            [*add_args("NEW-1", purchase_cost=value)],
            "purchase_cost",
            repr(value),
        )
    assert_refused(
        seeded_sqlite,
        2,
        [*add_args("NEW-1", purchase_date="\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0661")],
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


# --- bytes that are not UTF-8 -------------------------------------------------------------


def test_an_argument_that_is_not_utf8(seeded: Cli, tmp_path: Path) -> None:
    bad = "a" + b"\xff".decode("utf-8", "surrogateescape")  # what Python makes of $'a\xff'
    line = assert_refused(seeded, 2, ["asset", "list", "--search", bad], "argument 4", "UTF-8")
    assert "'a\\xff'" in line
    assert_refused(seeded, 2, [*add_args("NEW-1", notes=bad)], "UTF-8")
    # The installed entry point, given the raw byte.
    result = seeded.sub("asset", "list", "--search", bad)
    assert result.exit_code == 2, result.stderr
    assert "not valid UTF-8" in result.stderr and "Traceback" not in result.stderr
    # A file name may be any bytes: an existing one is not refused for its name.
    odd = tmp_path / ("assets" + b"\xff".decode("utf-8", "surrogateescape") + ".csv")
    odd.write_text("tag,name,category\nODD-1,a,b\n", encoding="utf-8")
    seeded.ok("asset", "import", str(odd))


def test_an_environment_value_that_is_not_utf8(tmp_path: Path) -> None:
    bad = "sqlite:///" + str(tmp_path) + "/" + b"\xff".decode("utf-8", "surrogateescape")
    cli = Cli(base_env(tmp_path, bad))
    for args in (["asset", "list"], ["config", "show"]):
        result = cli.sub(*args)
        assert result.exit_code == 2, result.stderr
        line = stderr_line(result)
        assert "ASSETCTL_DATABASE_URL is not valid UTF-8" in line
    assert list(tmp_path.iterdir()) == []  # no database file made under a mangled name


# --- settings: out of range, and the value named -----------------------------------------


def test_a_token_lifetime_past_the_calendar(cli: Cli, db_url: str) -> None:
    before = snapshot(db_url)
    result = cli(
        "auth", "login", "--email", "admin@example.com", "--password-stdin",
        "--insecure-storage", input="correct horse battery staple\n",
        env={"ASSETCTL_TOKEN_LIFETIME": "99999999d"},
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    line = stderr_line(result)
    assert "'99999999d'" in line and "token_lifetime" in line and "3650d" in line
    assert snapshot(db_url) == before
    for value in ("\u0661\u0662h", "\u00b2d"):  # other scripts' digits, a superscript
        result = cli("config", "show", env={"ASSETCTL_TOKEN_LIFETIME": value})
        assert result.exit_code == 2 and "token_lifetime" in result.stderr
    ok = cli("config", "show", "-o", "json", env={"ASSETCTL_TOKEN_LIFETIME": "3650d"})
    assert ok.exit_code == 0, ok.stderr


@pytest.mark.parametrize(
    ("variable", "value", "shown"),
    [
        ("ASSETCTL_VLM_PROVIDER", "bogus", "'bogus'"),
        ("ASSETCTL_AUTH_STORAGE", "floppy", "'floppy'"),
        ("ASSETCTL_LIST_LIMIT", "lots", "'lots'"),
        ("ASSETCTL_CACHE_TTL", "0", "'0'"),
        ("ASSETCTL_DATABASE_URL", "mysql://u:hunter2@h/db", "'mysql://u:***@h/db'"),
    ],
)
def test_an_invalid_setting_names_the_setting_and_the_value(
    bare_cli: Cli, variable: str, value: str, shown: str
) -> None:
    result = bare_cli("config", "show", env={variable: value})
    assert result.exit_code == 2
    line = stderr_line(result)
    assert variable.removeprefix("ASSETCTL_").lower() in line and shown in line
    assert "hunter2" not in result.stderr


def test_a_secret_setting_is_never_echoed(bare_cli: Cli) -> None:
    result = bare_cli("config", "show", env={"ASSETCTL_JWT_SECRET": "short-secret"})
    assert result.exit_code == 2
    assert "jwt_secret" in result.stderr and "short-secret" not in result.stderr


# --- migrations, damaged files, full disks (a piped import under a file-size limit, exit 7:
# tests/test_import_process.py) --------------------------------------------------


def _stamp(url: str, revision: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def test_db_upgrade_of_a_database_from_a_newer_assetctl(cli: Cli, db_url: str) -> None:
    from assetctl.db.schema_version import HEAD_REVISION

    cli.ok(*add_args("LAP-1"))
    _stamp(db_url, "0099_from_the_future")
    try:
        current = cli("db", "current")
        assert current.exit_code == 0
        assert current.stdout.strip() == "0099_from_the_future"
        assert "does not know" in current.stderr and "upgrade assetctl" in current.stderr
        assert "run `assetctl db upgrade`" not in current.stderr
        before = snapshot(db_url)
        for args in (["db", "upgrade"], ["init"]):
            result = cli(*args)
            assert result.exit_code == 7, (args, result.stderr)
            line = stderr_line(result)
            assert "'0099_from_the_future'" in line and "does not know" in line
        assert snapshot(db_url) == before
        assert cli("db", "current").stdout.strip() == "0099_from_the_future"
    finally:
        _stamp(db_url, HEAD_REVISION)


def _damage_assets_pages(path: Path) -> None:
    """Overwrite the first leaf pages of the assets table: header and schema stay intact,
    so the file opens and only a query meets the damage."""
    import sqlite3

    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = [
        row[0]
        for row in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'assets' AND pagetype = 'leaf' LIMIT 3"
        )
    ]
    conn.close()
    assert pages, "the assets table has no leaf pages"
    with path.open("r+b") as handle:
        for page in pages:
            handle.seek((page - 1) * page_size)
            handle.write(b"\xa5" * page_size)


def test_a_damaged_sqlite_data_page(sqlite_cli: Cli, tmp_path: Path) -> None:
    rows = "".join(f"T-{i},Device {i},laptop,{'x' * 200}\n" for i in range(300))
    sqlite_cli.ok(
        "asset", "import", "-", "--format", "csv", input="tag,name,category,notes\n" + rows
    )
    path = Path(sqlite_cli.env["ASSETCTL_DATABASE_URL"].removeprefix("sqlite:///"))
    _damage_assets_pages(path)
    damaged = path.read_bytes()
    for args in (["asset", "list", "--all"], ["asset", "show", "T-5"], ["asset", "export"]):
        result = sqlite_cli.sub(*args)
        assert result.exit_code == 7, (args, result.stderr)
        assert result.stderr.startswith("error: the database is damaged: ")
        assert str(path) in result.stderr and "malformed" in result.stderr
        assert "SELECT" not in result.stderr and "Traceback" not in result.stderr
    result = sqlite_cli("asset", "update", "T-5", "--name", "x")
    assert result.exit_code == 7, result.stderr
    assert path.read_bytes() == damaged


def test_stdout_on_a_full_disk(seeded: Cli) -> None:
    for args in (["asset", "list"], ["asset", "list", "-o", "json"], ["asset", "export"],
                 ["--version"], ["--help"]):  # fmt: skip
        with open("/dev/full", "w") as full:
            proc = subprocess.run(
                [str(ASSETCTL_BIN), *args], env=seeded.env, stdout=full,
                stderr=subprocess.PIPE, text=True, timeout=60, check=False,
            )  # fmt: skip
        assert proc.returncode == 7, (args, proc.stderr)
        assert "cannot write the output: No space left on device" in proc.stderr.splitlines()[0]
        assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


# --- REF resolution -----------------------------------------------------------------------


def test_a_tag_that_could_never_be_reached_is_refused(seeded: Cli, tmp_path: Path) -> None:
    for tag in ("id:5", "id:LAP"):
        line = assert_refused(seeded, 2, [*add_args(tag)], "tag", repr(tag), "'id:'")
        assert "ids" in line
    assert_refused(seeded, 2, ["asset", "update", "LAP-1", "--tag", "id:1"], "'id:1'")
    path = tmp_path / "f.csv"
    path.write_text("tag,name,category\nOK-1,a,b\nid:7,a,b\n", encoding="utf-8")
    before = snapshot(seeded.env["ASSETCTL_DATABASE_URL"])
    result = seeded("asset", "import", str(path))
    assert result.exit_code == 2, result.stderr
    assert "line 3, column tag, value 'id:7': tag 'id:7' starts with 'id:'" in result.stderr
    assert snapshot(seeded.env["ASSETCTL_DATABASE_URL"]) == before
    # Other case is another tag, reached by tag: only the exact prefix is an id.
    seeded.ok(*add_args("ID:5"))
    assert seeded.ok("asset", "show", "ID:5", "-o", "json").json()["tag"] == "ID:5"


def test_a_numeric_tag_and_an_id_are_both_reachable(seeded: Cli) -> None:
    first = seeded.ok("asset", "show", "LAP-1", "-o", "json").json()
    number = str(first["id"])
    seeded.ok(*add_args(number, name="Numbered"))  # a tag that is another asset's id
    assert seeded.ok("asset", "show", number, "-o", "json").json()["name"] == "Numbered"
    assert seeded.ok("asset", "show", f"id:{number}", "-o", "json").json()["tag"] == "LAP-1"
    # A bare number with no such tag is the id.
    other = seeded.ok("asset", "show", "LAP-2", "-o", "json").json()["id"]
    assert seeded.ok("asset", "show", str(other), "-o", "json").json()["tag"] == "LAP-2"


def test_a_sqlite_file_that_cannot_grow(sqlite_cli: Cli, tmp_path: Path) -> None:
    """Under a file-size limit just above the database's size, an import from a regular
    file (no spool) fails where SQLite extends the file: exit 7, nothing written."""
    import resource

    url = sqlite_cli.env["ASSETCTL_DATABASE_URL"]
    path = Path(url.removeprefix("sqlite:///"))
    limit = path.stat().st_size + 16 * 1024
    source = tmp_path / "many.csv"
    rows = "".join(f"G-{i},Device {i},laptop,{'x' * 200}\n" for i in range(2000))
    source.write_text("tag,name,category,notes\n" + rows, encoding="utf-8")
    before = snapshot(url)

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    proc = subprocess.run(
        [str(ASSETCTL_BIN), "asset", "import", str(source)], env=sqlite_cli.env,
        capture_output=True, text=True, timeout=120, check=False, preexec_fn=limit_file_size,
    )  # fmt: skip
    assert proc.returncode == 7, proc.stderr
    assert proc.stderr.startswith("error: cannot write the database file (the disk is full")
    assert str(path) in proc.stderr and "INSERT" not in proc.stderr
    assert snapshot(url) == before
