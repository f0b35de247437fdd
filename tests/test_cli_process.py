"""Issue 2, items 6 and 8: the installed `assetctl` entry point run as a real process, for the
main paths: exit codes, data on stdout only, messages on stderr, -q, and --debug."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .asset_fixtures import expected_actor, insert_assets
from .conftest import ASSETCTL_BIN, Cli, add_args


# In-process tests cover every rule on both databases; as real processes the main path runs
# against the team deployment (PostgreSQL), the other tests here against the SQLite default.
@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_main_path(cli: Cli) -> None:
    added = cli.sub(*add_args("PROC-1", serial="SN-P1", purchase_cost="99.90"), "-o", "json")
    assert added.exit_code == 0, added.stderr
    record = json.loads(added.stdout)
    assert (record["tag"], record["purchase_cost"], record["version"]) == ("PROC-1", 99.9, 1)
    assert "Added asset PROC-1" in added.stderr
    assert "PROC-1" not in added.stderr.replace("Added asset PROC-1", "")

    listed = cli.sub("asset", "list", "-o", "json")
    assert listed.exit_code == 0 and listed.stderr == ""
    assert json.loads(listed.stdout) == {"items": [record], "next_cursor": None}

    shown = cli.sub("asset", "show", "PROC-1", "-o", "json")
    assert shown.exit_code == 0 and shown.stderr == ""
    assert json.loads(shown.stdout) == record

    updated = cli.sub("asset", "update", "PROC-1", "--location", "Lab", "-o", "json")
    assert updated.exit_code == 0
    assert json.loads(updated.stdout)["location"] == "Lab"
    assert json.loads(updated.stdout)["version"] == 2
    assert "Updated asset PROC-1" in updated.stderr

    deleted = cli.sub("asset", "delete", "PROC-1", "--yes")
    assert deleted.exit_code == 0
    assert "Deleted asset PROC-1" in deleted.stderr
    assert "deleted_at\t20" in deleted.stdout  # the plain record on stdout

    restored = cli.sub("asset", "restore", "PROC-1", "-o", "jsonl")
    assert restored.exit_code == 0
    assert json.loads(restored.stdout)["deleted_at"] is None

    events = cli.sub("asset", "history", "PROC-1", "-o", "json")
    assert events.exit_code == 0 and events.stderr == ""
    history = json.loads(events.stdout)
    assert [e["action"] for e in history] == ["created", "updated", "deleted", "restored"]
    assert history[1]["changes"] == {"location": {"old": None, "new": "Lab"}}
    assert {e["actor"] for e in history} == {expected_actor(cli)}


def test_errors_go_to_stderr_with_their_exit_codes(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    assert cli.sub(*add_args("E-1")).exit_code == 0
    for args, code in (
        (["asset", "show", "E-404"], 3),
        ([*add_args("E-1")], 6),
        (["asset", "delete", "E-1"], 2),  # stdin is not a terminal and no --yes
    ):
        result = cli.sub(*args)
        assert result.exit_code == code, (args, result.stderr)
        assert result.stdout == ""
        assert result.stderr.startswith("error: "), result.stderr
        assert "Traceback" not in result.stderr
    assert cli.sub("asset", "show", "E-1").exit_code == 0  # the refused delete did nothing


def test_quiet_silences_messages_but_not_data_or_errors(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    added = cli.sub("-q", *add_args("Q-1"), "-o", "json")
    assert added.exit_code == 0
    assert added.stderr == ""
    assert json.loads(added.stdout)["tag"] == "Q-1"
    # A message that -q silences in-process too: the next-page hint.
    cli.ok(*add_args("Q-2"))
    assert "--cursor" in cli("asset", "list", "--limit", "1", "-o", "csv").stderr
    paged = cli("--quiet", "asset", "list", "--limit", "1", "-o", "csv")
    assert paged.stderr == "" and "Q-1" in paged.stdout
    failed = cli("-q", "asset", "show", "NOPE")
    assert failed.exit_code == 3
    assert failed.stderr.startswith("error: ")


BOOM = """\
import assetctl.core.assets.commands


def _boom(*args, **kwargs):
    raise RuntimeError("simulated bug")


assetctl.core.assets.commands.get_asset = _boom
"""


@pytest.fixture
def buggy_env(tmp_path: Path) -> dict[str, str]:
    """Make `asset show` hit an unexpected exception inside the real entry point (a
    sitecustomize module on PYTHONPATH replaces the core function before main runs)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(BOOM)
    return {"PYTHONPATH": str(hook)}


def test_debug_shows_a_traceback_for_unexpected_errors(
    sqlite_cli: Cli, buggy_env: dict[str, str]
) -> None:
    cli = sqlite_cli
    plain = cli.sub("asset", "show", "X", env=buggy_env)
    assert plain.exit_code == 1
    assert "Traceback" not in plain.stderr
    lines = plain.stderr.splitlines()
    assert lines[0] == "error: unexpected internal error: RuntimeError: simulated bug"
    assert "--debug" in lines[1]

    debug = cli.sub("--debug", "asset", "show", "X", env=buggy_env)
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "RuntimeError: simulated bug" in debug.stderr
    assert debug.stdout == ""


def _list_into_closed_pipe(cli: Cli) -> tuple[int, str]:
    """`assetctl asset list --all | head -1`: returns (exit status, stderr)."""
    insert_assets(
        cli.env["ASSETCTL_DATABASE_URL"],
        [{"tag": f"PIPE-{i:05d}", "name": "x" * 100, "category": "c"} for i in range(3000)],
    )
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "asset", "list", "--all"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert first.startswith(b"PIPE-00000\t")
    proc.stdout.close()  # far more than a pipe buffer is still unwritten
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    return proc.returncode, stderr


def test_closed_pipe_ends_quietly(sqlite_cli: Cli) -> None:
    code, stderr = _list_into_closed_pipe(sqlite_cli)
    assert code == 141  # the Unix convention for a reader that went away, not 1 (a bug)
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
    assert "error" not in stderr
