"""Issue 16, "Many assets per command": update/assign/unassign/delete/restore with several
REFs or `--from FILE|-`, all or nothing by default, `--continue-on-error`, per-item
`if_version`, `-o jsonl` results, one cache generation bump per command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .asset_fixtures import events_of, insert_assets, snapshot
from .conftest import ASSETCTL_BIN, WAIT_S, Cli, CliResult, _service_missing, read_terminal


def _seed(cli: Cli) -> str:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    insert_assets(
        url,
        [
            {"tag": "LAP-1", "name": "L1", "category": "laptop"},
            {"tag": "LAP-2", "name": "L2", "category": "laptop"},
            {"tag": "LAP-3", "name": "L3", "category": "laptop"},
            {"tag": "OLD-1", "name": "Old", "category": "laptop", "status": "retired"},
        ],
    )
    return url


def _jsonl(tmp_path: Path, *lines: object) -> str:
    path = tmp_path / "batch.jsonl"
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n")
    return str(path)


def _refused(cli: Cli, code: int, args: list[str], *expected: str, stdin: str = "") -> CliResult:
    """Exit `code`, every expected text on stderr, nothing written."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    before = snapshot(url)
    result = cli(*args, input=stdin)
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr, (text, result.stderr)
    assert "nothing was written" in result.stderr
    assert snapshot(url) == before
    return result


def test_assign_many_refs_in_one_transaction(cli: Cli) -> None:
    url = _seed(cli)
    result = cli.ok("asset", "assign", "LAP-1", "LAP-2", "--to", "a@x.com", "-o", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["line"], r["ref"], r["result"], r["code"]) for r in rows] == [
        (1, "LAP-1", "assigned", 0),
        (2, "LAP-2", "assigned", 0),
    ]
    assert rows[0]["asset"]["assignee"] == "a@x.com" and rows[0]["asset"]["version"] == 2
    assert "Assigned 2 of 2 assets" in result.stderr
    assert [e["action"] for e in events_of(url, "LAP-1")] == ["created", "assigned"]
    shown = cli.ok("asset", "show", "LAP-3", "-o", "json").json()
    assert shown["assignee"] is None


def test_jsonl_per_item_person_and_version(cli: Cli, tmp_path: Path) -> None:
    _seed(cli)
    path = _jsonl(
        tmp_path,
        {"ref": "LAP-1", "to": "a@x.com", "if_version": 1},
        {"ref": "LAP-2", "to": "b@x.com"},
    )
    cli.ok("asset", "assign", "--from", path)
    assert cli.ok("asset", "show", "LAP-1", "-o", "json").json()["assignee"] == "a@x.com"
    assert cli.ok("asset", "show", "LAP-2", "-o", "json").json()["assignee"] == "b@x.com"
    stale = _jsonl(tmp_path, {"ref": "LAP-1", "if_version": 1}, {"ref": "LAP-2"})
    result = _refused(cli, 6, ["asset", "unassign", "--from", stale], "line 1, LAP-1", "version")
    assert "(exit 6)" in result.stderr


def test_update_fields_per_line_and_clearing(cli: Cli, tmp_path: Path) -> None:
    _seed(cli)
    path = _jsonl(
        tmp_path,
        {"ref": "LAP-1", "location": "Berlin", "purchase_cost": 12.5},
        {"ref": "LAP-2", "serial": "S-2"},
    )
    cli.ok("asset", "update", "--from", path, "--notes", "checked")
    one = cli.ok("asset", "show", "LAP-1", "-o", "json").json()
    assert (one["location"], one["purchase_cost"], one["notes"]) == ("Berlin", 12.5, "checked")
    clear = _jsonl(tmp_path, {"ref": "LAP-1", "location": None})
    cli.ok("asset", "update", "--from", clear)
    assert cli.ok("asset", "show", "LAP-1", "-o", "json").json()["location"] is None


def test_refs_from_stdin_one_per_line(cli: Cli) -> None:
    _seed(cli)
    cli.ok("asset", "delete", "--from", "-", "--yes", input="LAP-1\n\n# a comment\nLAP-2\n")
    listed = cli.ok("asset", "list", "--deleted", "-o", "json").json()["items"]
    assert sorted(a["tag"] for a in listed) == ["LAP-1", "LAP-2"]
    cli.ok("asset", "restore", "LAP-1", "LAP-2")
    assert cli.ok("asset", "list", "--deleted", "-o", "json").json()["items"] == []


def test_missing_ref_is_3_and_nothing_written(cli: Cli) -> None:
    _seed(cli)
    _refused(
        cli, 3, ["asset", "assign", "LAP-1", "NOPE", "LAP-2", "--to", "a@x.com"],
        "line 2, NOPE", "1 of 3 items failed",
    )  # fmt: skip


def test_rejected_batch_output_never_reports_a_rolled_back_change(cli: Cli) -> None:
    """Results are written after the transaction ends: in a rejected batch, the items that
    worked say "not written" (a script must not read "assigned" for a rollback)."""
    _seed(cli)
    args = ["asset", "assign", "LAP-1", "NOPE", "LAP-2", "--to", "a@x.com", "-o", "jsonl"]
    result = _refused(cli, 3, args, "line 2, NOPE")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["ref"], r["result"], r["code"], r["asset"]) for r in rows] == [
        ("LAP-1", "not written", 0, None),
        ("NOPE", "failed", 3, None),
        ("LAP-2", "not written", 0, None),
    ]


def test_retired_in_assign_batch_is_6(cli: Cli) -> None:
    _seed(cli)
    _refused(cli, 6, ["asset", "assign", "LAP-1", "OLD-1", "--to", "a@x.com"], "line 2, OLD-1")


def test_ref_twice_is_2_also_by_tag_and_id(cli: Cli) -> None:
    _seed(cli)
    _refused(
        cli, 2, ["asset", "assign", "LAP-1", "LAP-1", "--to", "a@x.com"], "line 2, LAP-1", "twice"
    )
    lap1 = cli.ok("asset", "show", "LAP-1", "-o", "json").json()["id"]
    _refused(
        cli, 2, ["asset", "assign", "LAP-1", f"id:{lap1}", "--to", "a@x.com"],
        f"line 2, id:{lap1}", "twice",
    )  # fmt: skip


def test_bad_jsonl_lines_are_each_listed(cli: Cli, tmp_path: Path) -> None:
    _seed(cli)
    path = _jsonl(
        tmp_path,
        {"ref": "LAP-1", "to": "a@x.com"},
        "[1, 2]",
        {"to": "b@x.com"},
        {"ref": "LAP-2", "to": "c@x.com", "colour": "red"},
        "{not json",
        {"ref": "NOPE", "to": "d@x.com"},
    )
    result = _refused(
        cli, 3, ["asset", "assign", "--from", path],
        "line 2: not a JSON object", 'line 3: the object has no "ref"',
        "line 4, LAP-2: unknown field colour", "line 5: not valid JSON", "line 6, NOPE",
        "5 of 6 items failed",
    )  # fmt: skip
    assert result.stderr.count("(exit 2)") == 4


def test_only_bad_lines_exit_2(cli: Cli, tmp_path: Path) -> None:
    _seed(cli)
    path = _jsonl(tmp_path, {"ref": "LAP-1"}, "42")
    _refused(cli, 2, ["asset", "delete", "--yes", "--from", path], "line 2: not a JSON object")


def test_continue_on_error_commits_the_rest(cli: Cli, tmp_path: Path) -> None:
    url = _seed(cli)
    path = _jsonl(
        tmp_path,
        {"ref": "LAP-1", "to": "a@x.com"},
        {"ref": "NOPE", "to": "b@x.com"},
        {"ref": "OLD-1", "to": "c@x.com"},
        {"ref": "LAP-2", "to": "d@x.com"},
    )
    result = cli("asset", "assign", "--from", path, "--continue-on-error", "-o", "jsonl")
    assert result.exit_code == 6, result.stderr  # conflict outranks not found
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["code"] for r in rows] == [0, 3, 6, 0]
    assert "2 of 4 items failed; the other 2 were saved" in result.stderr
    assert cli.ok("asset", "show", "LAP-2", "-o", "json").json()["assignee"] == "d@x.com"
    assert [e["action"] for e in events_of(url, "OLD-1")] == ["created"]


def test_single_ref_output_unchanged(cli: Cli) -> None:
    _seed(cli)
    result = cli.ok("asset", "assign", "LAP-1", "--to", "a@x.com", "-o", "json")
    assert result.json()["assignee"] == "a@x.com"
    assert "Assigned asset LAP-1 to a@x.com." in result.stderr
    missing = cli("asset", "assign", "LAP-2")
    assert missing.exit_code == 2 and "--to" in missing.stderr


def test_refs_and_from_together_is_2(cli: Cli, tmp_path: Path) -> None:
    _seed(cli)
    path = _jsonl(tmp_path, {"ref": "LAP-1"})
    result = cli("asset", "unassign", "LAP-2", "--from", path)
    assert result.exit_code == 2 and "not both" in result.stderr


def test_batch_delete_needs_yes_without_terminal(cli: Cli) -> None:
    url = _seed(cli)
    before = snapshot(url)
    result = cli("asset", "delete", "LAP-1", "LAP-2")
    assert result.exit_code == 2 and "several assets" in result.stderr
    assert snapshot(url) == before


def test_viewer_gets_5_before_anything(cli: Cli) -> None:
    _seed(cli)
    cli.ok("auth", "register", "--email", "v@x.com", "--role", "viewer", "--password-stdin",
           input="a long enough password\n")  # fmt: skip
    login = cli.ok("auth", "login", "--email", "v@x.com", "--password-stdin",
                   "--insecure-storage", input="a long enough password\n",
                   env={"ASSETCTL_TOKEN": ""})  # fmt: skip
    token = cli.ok("auth", "token", env={"ASSETCTL_TOKEN": ""}).stdout.strip()
    assert login.exit_code == 0
    result = cli("asset", "unassign", "LAP-1", "LAP-2", env={"ASSETCTL_TOKEN": token})
    assert result.exit_code == 5, result.stderr


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_subprocess_batch_from_stdin_on_postgres(cli: Cli) -> None:
    _seed(cli)
    lines = "\n".join(json.dumps({"ref": f"LAP-{n}", "to": f"p{n}@x.com"}) for n in (1, 2, 3))
    result = cli.sub("asset", "assign", "--from", "-", "-o", "jsonl", input=lines)
    assert result.exit_code == 0, result.stderr
    assert [json.loads(x)["result"] for x in result.stdout.splitlines()] == ["assigned"] * 3


def test_progress_bar_only_on_a_terminal(cli: Cli, tmp_path: Path) -> None:
    import os
    import pty
    import subprocess

    _seed(cli)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "asset", "assign", "LAP-1", "LAP-2", "LAP-3", "--to", "a@x.com"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
        env={**cli.env, "TERM": "xterm-256color"},
    )  # fmt: skip
    os.close(slave)
    seen = read_terminal(master).decode(errors="replace")
    assert proc.wait(timeout=WAIT_S) == 0, seen
    assert "Assign" in seen and "Assigned 3 of 3 assets" in seen
    piped = cli.sub("asset", "unassign", "LAP-1", "LAP-2")
    assert piped.exit_code == 0
    assert piped.stderr.strip() == "Unassigned 2 of 2 assets; 0 unchanged."


def test_one_cache_generation_bump_per_batch(cli: Cli) -> None:
    import redis

    from .cache_helpers import data_generation, postgres_only

    postgres_only(cli.env["ASSETCTL_DATABASE_URL"])
    url = "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _service_missing("Redis", f"{url}: {exc}")
    db_url = _seed(cli)
    rcli = Cli({**cli.env, "ASSETCTL_REDIS_URL": url})
    assert len(rcli.ok("asset", "list", "-o", "json").json()["items"]) == 4
    before = data_generation(db_url)
    rcli.ok("asset", "assign", "LAP-1", "LAP-2", "LAP-3", "--to", "a@x.com")
    assert data_generation(db_url) == before + 1
    listed = rcli.ok("asset", "list", "--status", "assigned", "-o", "json").json()["items"]
    assert len(listed) == 3
    # A rejected batch writes nothing and leaves the generation alone.
    assert rcli("asset", "unassign", "LAP-1", "NOPE").exit_code == 3
    assert data_generation(db_url) == before + 1
