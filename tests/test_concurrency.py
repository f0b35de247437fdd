"""Two real processes changing the same asset at the same time (issue 2, "Bad input": exactly
one of two `--if-version` updates from the same version wins, the other exits 6, and the
history shows one change).

On PostgreSQL the test holds a row lock on the asset while both processes start, and releases
it only once both are blocked on it: both have then read (or are about to read) version 1, so
the race is exercised every run instead of by luck. On SQLite writers queue on the database
lock (BEGIN IMMEDIATE), so starting both at once is the real situation.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

from .asset_fixtures import error_json, events_of, expected_actor
from .conftest import ASSETCTL_BIN, Cli, CliResult, add_args

WAIT_LIMIT_S = 30


def _start(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(ASSETCTL_BIN), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
    )


def _finish(proc: subprocess.Popen[str]) -> CliResult:
    stdout, stderr = proc.communicate(timeout=60)
    return CliResult(proc.returncode, stdout, stderr)


def _blocked_backends(conn: Connection) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'assetctl' AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    )


@contextmanager
def _row_locked(db_url: str, tag: str) -> Iterator[Any]:
    """On PostgreSQL: hold `SELECT ... FOR UPDATE` on the asset; yields a function that waits
    until `n` assetctl backends are blocked behind it. On SQLite: nothing to hold."""
    engine = create_engine(db_url)
    try:
        if engine.dialect.name != "postgresql":
            yield lambda procs, n: None
            return
        with engine.connect() as holder, engine.connect() as watcher:
            watcher.execution_options(isolation_level="AUTOCOMMIT")
            holder.execute(
                text("SELECT id FROM assets WHERE tag = :tag AND deleted_at IS NULL FOR UPDATE"),
                {"tag": tag},
            )

            def wait_blocked(procs: list[subprocess.Popen[str]], n: int) -> None:
                deadline = time.monotonic() + WAIT_LIMIT_S
                while _blocked_backends(watcher) < n:
                    exited = [p for p in procs if p.poll() is not None]
                    assert not exited, [_finish(p) for p in exited]
                    assert time.monotonic() < deadline, "processes never reached the row lock"
                    time.sleep(0.02)

            yield wait_blocked
            holder.rollback()
    finally:
        engine.dispose()


def _race(cli: Cli, tag: str, *commands: list[str]) -> list[CliResult]:
    with _row_locked(cli.env["ASSETCTL_DATABASE_URL"], tag) as wait_blocked:
        procs = [_start(cli, *command) for command in commands]
        try:
            wait_blocked(procs, len(procs))
        except BaseException:
            for proc in procs:
                proc.kill()
                proc.communicate()
            raise
    return [_finish(proc) for proc in procs]


def test_two_if_version_updates_from_the_same_version(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    cli.ok(*add_args("RACE-1", location="Start"))
    results = _race(
        cli,
        "RACE-1",
        ["asset", "update", "RACE-1", "--location", "A", "--if-version", "1", "-o", "json"],
        ["asset", "update", "RACE-1", "--location", "B", "--if-version", "1", "-o", "json"],
    )
    codes = sorted(r.exit_code for r in results)
    assert codes == [0, 6], [(r.exit_code, r.stderr) for r in results]
    winner = next(r for r in results if r.exit_code == 0)
    loser = next(r for r in results if r.exit_code == 6)
    assert winner.json()["version"] == 2
    error = error_json(loser)
    assert error["code"] == 6
    assert "RACE-1" in error["message"] and "version" in error["message"]

    final = cli.ok("asset", "show", "RACE-1", "-o", "json").json()
    assert final["version"] == 2
    assert final["location"] == winner.json()["location"]
    events = events_of(url, "RACE-1")
    assert [e["action"] for e in events] == ["created", "updated"]
    assert events[1]["changes"] == {"location": {"old": "Start", "new": winner.json()["location"]}}
    assert events[1]["actor"] == expected_actor(cli)


def test_two_plain_updates_both_apply(cli: Cli) -> None:
    """Without --if-version neither writer asked to fail on a moved row: both changes land,
    one after the other, each recorded against the value it replaced (no lost update)."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    cli.ok(*add_args("RACE-2", location="Start", model="M0"))
    results = _race(
        cli,
        "RACE-2",
        ["asset", "update", "RACE-2", "--location", "A"],
        ["asset", "update", "RACE-2", "--model", "M1"],
    )
    assert [r.exit_code for r in results] == [0, 0], [r.stderr for r in results]

    final = cli.ok("asset", "show", "RACE-2", "-o", "json").json()
    assert (final["location"], final["model"], final["version"]) == ("A", "M1", 3)
    events = events_of(url, "RACE-2")
    assert [e["action"] for e in events] == ["created", "updated", "updated"]
    assert sorted(str(e["changes"]) for e in events[1:]) == sorted(
        [
            str({"location": {"old": "Start", "new": "A"}}),
            str({"model": {"old": "M0", "new": "M1"}}),
        ]
    )


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_two_processes_adding_the_same_tag(cli: Cli) -> None:
    """The uniqueness check and the insert race too: the index decides, the loser exits 6.
    (On SQLite writers queue on the database lock, so only PostgreSQL can interleave.)"""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    procs = [_start(cli, *add_args("TWIN-1", name=f"Twin {i}")) for i in range(2)]
    results = [_finish(p) for p in procs]
    assert sorted(r.exit_code for r in results) == [0, 6], [r.stderr for r in results]
    loser = next(r for r in results if r.exit_code == 6)
    assert "tag 'TWIN-1'" in loser.stderr and "Traceback" not in loser.stderr
    assert len(events_of(url, "TWIN-1")) == 1
