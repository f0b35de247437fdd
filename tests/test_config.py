"""Issue 2, item 3: configuration precedence, `config show | path`, profiles, rejected
configuration, the embedded default database, `init` and `doctor`."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from assetctl.config_specs import SPECS
from assetctl.db.schema_version import HEAD_REVISION

from .asset_fixtures import insert_assets, stderr_line
from .conftest import Cli, base_env

PASSWORD = "hunter2pw"
PASSWORDED_URL = f"postgresql+psycopg2://u:{PASSWORD}@127.0.0.1:5432/db"


def write_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "assetctl" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def settings(cli: Cli, *global_args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    rows = cli.ok(*global_args, "config", "show", "-o", "json", env=env).json()
    return {row["key"]: row for row in rows}


def _untouched_source(cli: Cli, key: str) -> str:
    """Where a setting comes from with no config file: its default, unless the test
    environment itself sets the variable (the fixtures may switch network lookups off)."""
    var = SPECS[key].env_var
    return f"env {var}" if cli.env.get(var) else "default"


@pytest.fixture
def bare(tmp_path: Path) -> Cli:
    return Cli(base_env(tmp_path))


# --- precedence ---------------------------------------------------------------------------------


def test_precedence_default_file_profile_env(bare: Cli) -> None:
    assert settings(bare)["list_limit"] | {"env": ""} == {
        "key": "list_limit",
        "value": "50",
        "source": "default",
        "env": "",
    }
    path = write_config(
        bare.env,
        "list_limit = 7\n\n[profiles.staging]\nlist_limit = 8\n\n[profiles.empty]\n",
    )
    row = settings(bare)["list_limit"]
    assert (row["value"], row["source"]) == ("7", f"config file {path}")
    # A profile without the key inherits the top level.
    assert settings(bare, "--profile", "empty")["list_limit"]["value"] == "7"
    row = settings(bare, "--profile", "staging")["list_limit"]
    assert (row["value"], row["source"]) == ("8", f"config file {path} [profiles.staging]")
    row = settings(bare, env={"ASSETCTL_PROFILE": "staging"})["list_limit"]
    assert row["value"] == "8"
    row = settings(bare, "--profile", "staging", env={"ASSETCTL_LIST_LIMIT": "9"})["list_limit"]
    assert (row["value"], row["source"]) == ("9", "env ASSETCTL_LIST_LIMIT")
    # An empty variable counts as unset.
    assert settings(bare, env={"ASSETCTL_LIST_LIMIT": ""})["list_limit"]["value"] == "7"


def test_profile_flag_beats_profile_env(bare: Cli) -> None:
    write_config(bare.env, "[profiles.a]\nlist_limit = 3\n[profiles.b]\nlist_limit = 4\n")
    shown = bare.ok("--profile", "a", "config", "show", env={"ASSETCTL_PROFILE": "b"})
    assert "profile: a" in shown.stderr
    assert (
        settings(bare, "--profile", "a", env={"ASSETCTL_PROFILE": "b"})["list_limit"]["value"]
        == "3"
    )


def test_limit_flag_beats_env_beats_file_for_asset_list(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    insert_assets(
        cli.env["ASSETCTL_DATABASE_URL"],
        [{"tag": f"P{i:02d}", "name": "n", "category": "c"} for i in range(12)],
    )

    def page_size(*args: str, env: dict[str, str] | None = None) -> int:
        return len(cli.ok(*args, "asset", "list", "-o", "json", env=env).json()["items"])

    assert page_size() == 12  # default 50
    write_config(cli.env, "list_limit = 5\n[profiles.small]\nlist_limit = 2\n")
    assert page_size() == 5
    assert page_size("--profile", "small") == 2
    assert page_size("--profile", "small", env={"ASSETCTL_LIST_LIMIT": "4"}) == 4
    assert page_size("--profile", "small", env={"ASSETCTL_LIST_LIMIT": "4"}) == 4
    assert (
        len(
            cli.ok(
                "--profile",
                "small",
                "asset",
                "list",
                "--limit",
                "3",
                "-o",
                "json",
                env={"ASSETCTL_LIST_LIMIT": "4"},
            ).json()["items"]
        )
        == 3
    )


def test_database_url_from_a_profile(tmp_path: Path, sqlite_url: str) -> None:
    cli = Cli(base_env(tmp_path))
    write_config(cli.env, f'[profiles.team]\ndatabase_url = "{sqlite_url}"\n')
    row = settings(cli, "--profile", "team")["database_url"]
    assert row["value"] == sqlite_url and "[profiles.team]" in row["source"]
    assert cli.ok("--profile", "team", "db", "current").stdout.strip() == HEAD_REVISION


# --- config show / path -------------------------------------------------------------------------


def test_config_show_lists_every_setting_with_its_source(bare: Cli) -> None:
    rows = bare.ok("config", "show", "-o", "json").json()
    assert [row["key"] for row in rows] == list(SPECS)
    for row in rows:
        assert set(row) == {"key", "value", "source", "env"}
        assert row["env"] == f"ASSETCTL_{row['key'].upper()}"
        assert row["source"] == _untouched_source(bare, row["key"])
    plain = bare.ok("config", "show").stdout.splitlines()
    assert [line.split("\t")[0] for line in plain] == list(SPECS)


def test_config_show_masks_the_database_password(bare: Cli) -> None:
    env = {"ASSETCTL_DATABASE_URL": PASSWORDED_URL}
    if "jwt_secret" in SPECS:
        env["ASSETCTL_JWT_SECRET"] = "s3cr3t-" + "k" * 40
    for fmt in ("json", "table", "csv", "tsv", "jsonl"):
        result = bare.ok("config", "show", "-o", fmt, env=env)
        assert PASSWORD not in result.stdout + result.stderr
        assert "s3cr3t" not in result.stdout + result.stderr
    row = settings(bare, env=env)["database_url"]
    assert row["value"] == "postgresql+psycopg2://u:***@127.0.0.1:5432/db"
    assert row["source"] == "env ASSETCTL_DATABASE_URL"
    # The same from the config file.
    write_config(bare.env, f'database_url = "{PASSWORDED_URL}"\n')
    result = bare.ok("config", "show")
    assert PASSWORD not in result.stdout + result.stderr
    assert "u:***@127.0.0.1:5432" in result.stdout


def test_config_show_masks_a_password_given_as_a_query_parameter(bare: Cli) -> None:
    for url, shown in (
        (
            f"postgresql+psycopg2://u@127.0.0.1:5432/db?password={PASSWORD}",
            "postgresql+psycopg2://u@127.0.0.1:5432/db?password=***",
        ),
        (
            f"postgresql+psycopg2://u:{PASSWORD}@h/db?sslmode=require&PASSWORD={PASSWORD}",
            "postgresql+psycopg2://u:***@h/db?sslmode=require&PASSWORD=***",
        ),
    ):
        result = bare.ok("config", "show", env={"ASSETCTL_DATABASE_URL": url})
        assert PASSWORD not in result.stdout + result.stderr
        assert settings(bare, env={"ASSETCTL_DATABASE_URL": url})["database_url"]["value"] == shown


def test_config_path(bare: Cli, tmp_path: Path) -> None:
    default = Path(bare.env["XDG_CONFIG_HOME"]) / "assetctl" / "config.toml"
    assert bare.ok("config", "path").stdout == f"{default}\n"
    other = tmp_path / "elsewhere.toml"
    other.write_text("list_limit = 11\n")
    env = {"ASSETCTL_CONFIG": str(other)}
    assert bare.ok("config", "path", env=env).stdout == f"{other}\n"
    assert settings(bare, env=env)["list_limit"]["value"] == "11"


# --- rejected configuration ---------------------------------------------------------------------


def refused(
    cli: Cli, *names: str, args: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> None:
    for command in (("config", "show"), ("asset", "list")):
        result = cli(*args, *command, env=env)
        assert result.exit_code == 2, (command, result.exit_code, result.stderr)
        line = stderr_line(result)
        for name in names:
            assert name in line, (name, line)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("colour = true\n", ["'colour'"]),
        ("[profiles.x]\nlist_limt = 3\n", ["'list_limt'", "profiles.x"]),
        ('list_limit = "abc"\n', ["list_limit"]),
        ("list_limit = 0\n", ["list_limit"]),
        ("list_limit = 5000\n", ["list_limit"]),
        ("list_limit = true\n", ["list_limit"]),
        ('database_url = "mysql://u@h/db"\n', ["database_url"]),
        ("database_url = 5\n", ["database_url"]),
        ("list_limit = [\n", ["not valid TOML"]),
        ("= 3\n", ["not valid TOML"]),
        ("profiles = 3\n", ["profiles"]),
        # `m` is months in the one duration grammar: an old `15m` (minutes) fails loudly.
        ('token_lifetime = "15m"\n', ["token_lifetime", "15min", "months"]),
        ('login_retention = "1y"\n', ["login_retention", "years"]),
        ('token_lifetime = "\u0663h"\n', ["token_lifetime"]),
        ('token_lifetime = "3651d"\n', ["token_lifetime", "3650d"]),
    ],
)
def test_bad_config_file(bare: Cli, text: str, names: list[str]) -> None:
    path = write_config(bare.env, text)
    profile_args = ("--profile", "x") if "profiles.x" in text else ()
    refused(bare, *names, args=profile_args)
    if "TOML" in names[0]:
        assert str(path) in bare("config", "show").stderr


def test_settings_take_the_one_duration_grammar(bare: Cli) -> None:
    write_config(bare.env, 'token_lifetime = "90min"\nlogin_retention = "2w"\n')
    shown = {row["key"]: row for row in bare.ok("config", "show", "-o", "json").json()}
    assert shown["token_lifetime"]["value"] == "5400"
    assert shown["login_retention"]["value"] == str(14 * 86400)
    env = {"ASSETCTL_TOKEN_LIFETIME": "30m"}
    refused(bare, "token_lifetime", "30min", env=env)


def test_bad_env_value_names_the_variable(bare: Cli) -> None:
    refused(bare, "list_limit", "ASSETCTL_LIST_LIMIT", env={"ASSETCTL_LIST_LIMIT": "ten"})
    refused(bare, "database_url", env={"ASSETCTL_DATABASE_URL": "nonsense"})


def test_bad_env_database_url_does_not_leak_its_password(bare: Cli) -> None:
    result = bare("config", "show", env={"ASSETCTL_DATABASE_URL": f"mysql://u:{PASSWORD}@h/db"})
    assert result.exit_code == 2
    assert PASSWORD not in result.stderr


def test_undefined_profile(bare: Cli) -> None:
    refused(bare, "'nope'", args=("--profile", "nope"))
    refused(bare, "'nope'", env={"ASSETCTL_PROFILE": "nope"})
    write_config(bare.env, "[profiles.staging]\n")
    refused(bare, "'nope'", args=("--profile", "nope"))
    assert "staging" in bare("--profile", "nope", "config", "show").stderr  # the hint


def test_config_env_pointing_at_a_missing_file(bare: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    refused(bare, str(missing), "ASSETCTL_CONFIG", env={"ASSETCTL_CONFIG": str(missing)})


# --- embedded default, init, doctor -----------------------------------------------------------


def test_default_database_is_sqlite_in_the_user_data_dir(bare: Cli) -> None:
    expected = Path(bare.env["XDG_DATA_HOME"]) / "assetctl" / "assetctl.db"
    row = settings(bare)["database_url"]
    assert (row["value"], row["source"]) == (f"sqlite:///{expected}", "default")
    assert not expected.exists()
    bare.ok("db", "upgrade")
    assert expected.is_file()
    assert bare.ok("db", "current").stdout.strip() == HEAD_REVISION


def test_init_creates_config_and_database_and_is_idempotent(bare: Cli) -> None:
    config = Path(bare.env["XDG_CONFIG_HOME"]) / "assetctl" / "config.toml"
    database = Path(bare.env["XDG_DATA_HOME"]) / "assetctl" / "assetctl.db"
    first = bare.ok("init")
    assert config.is_file() and database.is_file()
    assert "(created)" in first.stderr
    assert str(config) in first.stderr and str(database) in first.stderr
    assert first.stdout == ""
    # The starter file is valid and changes nothing.
    assert all(row["source"] == _untouched_source(bare, key) for key, row in settings(bare).items())

    config.write_text(config.read_text() + "list_limit = 12\n")
    before = config.read_text()
    second = bare.ok("init")
    assert "(created)" not in second.stderr
    assert config.read_text() == before
    assert bare.ok("db", "current").stdout.strip() == HEAD_REVISION
    assert settings(bare)["list_limit"]["value"] == "12"


def test_init_against_an_explicit_database(tmp_path: Path) -> None:
    target = tmp_path / "explicit" / "inv.db"
    cli = Cli(base_env(tmp_path, f"sqlite:///{target}"))
    cli.ok("init")
    assert target.is_file()
    assert not (Path(cli.env["XDG_DATA_HOME"]) / "assetctl" / "assetctl.db").exists()


def _doctor_lines(stdout: str) -> dict[str, str]:
    lines: dict[str, str] = {}
    for line in stdout.splitlines():
        verdict, name, *_ = line.split()
        lines[name] = verdict
    return lines


def test_doctor_passes_on_a_good_setup(bare: Cli) -> None:
    bare.ok("init")
    result = bare.ok("doctor")
    verdicts = _doctor_lines(result.stdout)
    assert {"config", "database", "migrations"} <= set(verdicts)
    assert verdicts["config"] == verdicts["database"] == verdicts["migrations"] == "ok"
    # Checks for services this setup does not use may be skipped; none may fail.
    assert "FAIL" not in verdicts.values(), result.stdout


def test_doctor_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    cli = Cli(base_env(tmp_path, PASSWORDED_URL.replace(":5432", ":1")))
    result = cli("doctor")
    assert result.exit_code == 7
    verdicts = _doctor_lines(result.stdout)
    assert verdicts["database"] == "FAIL" and verdicts["config"] == "ok"
    assert "127.0.0.1:1" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_fails_when_the_database_is_not_migrated(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    cli = Cli(base_env(tmp_path, f"sqlite:///{empty}"))
    result = cli("doctor")
    assert result.exit_code == 7
    verdicts = _doctor_lines(result.stdout)
    assert (verdicts["database"], verdicts["migrations"]) == ("ok", "FAIL")
    assert "assetctl db upgrade" in result.stdout


def test_doctor_fails_on_a_damaged_sqlite_file(sqlite_cli: Cli) -> None:
    bare = sqlite_cli
    for i in range(40):  # enough rows for the assets table to span several pages
        bare.ok("asset", "add", "--tag", f"T-{i}", "--name", "x" * 150, "--category", "laptop")
    path = Path(bare.env["ASSETCTL_DATABASE_URL"].removeprefix("sqlite:///"))
    assert "ok integrity" in " ".join(bare.ok("doctor").stdout.split())
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'assets'"
        ).fetchone()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page  # the assets table's root b-tree page: garbage after its header
    data[start + 12 : start + page] = b"\xa5" * (page - 12)
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    result = bare("doctor")
    assert result.exit_code == 7, result.stdout
    line = next(x for x in result.stdout.splitlines() if " integrity " in f" {x} ")
    assert line.split()[0] == "FAIL", line
    assert "is damaged" in line and f"sqlite3 {path} .recover" in line
    assert path.read_bytes() == before  # doctor only reads


def test_a_data_command_says_which_side_to_upgrade(sqlite_cli: Cli) -> None:
    """An older schema: upgrade the database. A revision this release does not know (a
    newer assetctl migrated it): upgrade assetctl, never `db upgrade`. Exit 7 both ways,
    nothing written."""
    path = Path(sqlite_cli.env["ASSETCTL_DATABASE_URL"].removeprefix("sqlite:///"))
    for stamp, says, never in (
        ("0012_login_attempts", "run `assetctl db upgrade`", "upgrade assetctl"),
        ("0099_from_the_future", "upgrade assetctl", "db upgrade"),
    ):
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("UPDATE alembic_version SET version_num = ?", (stamp,))
        result = sqlite_cli("asset", "add", "--tag", "NEW-1", "--name", "n", "--category", "x")
        assert result.exit_code == 7, result.stderr
        assert stamp in result.stderr and says in result.stderr, result.stderr
        assert never not in result.stderr, result.stderr
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT count(*) FROM assets").fetchone() == (0,)


def test_doctor_reports_a_bad_config_file(bare: Cli) -> None:
    write_config(bare.env, "nonsense = 1\n")
    result = bare("doctor")
    assert result.exit_code == 2
    assert "'nonsense'" in stderr_line(result)


def test_json_config_error(bare: Cli) -> None:
    write_config(bare.env, "colour = 1\n")
    result = bare("config", "show", "-o", "json")
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert error["code"] == 2 and "'colour'" in error["message"]
