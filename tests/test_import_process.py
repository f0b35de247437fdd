"""Import and export through the installed `assetctl` entry point, and the promise that a
killed or interrupted import leaves nothing behind (the process is really killed)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import text

from .asset_fixtures import connect, counts, insert_assets, snapshot
from .conftest import ASSETCTL_BIN, WAIT_S, Cli, _service_missing, read_terminal, wait_for


def rows(start: int, count: int) -> Iterator[str]:
    for i in range(start, start + count):
        yield f"K-{i:07d},Laptop {i},laptop,,SER-{i:07d},,2024-01-01,999.00,note {i}\n"


def test_import_and_export_as_subprocesses(cli: Cli, db_url: str, tmp_path: Path) -> None:
    body = "tag,name,category,purchase_cost\nP-1,One,laptop,10\nP-2,Two,phone,20.5\n"
    result = cli.sub("asset", "import", "-", input=body)
    assert result.exit_code == 0, result.stderr
    assert "2 created" in result.stderr
    assert result.stdout == ""
    exported = cli.sub("asset", "export", "-o", "jsonl")
    assert exported.exit_code == 0, exported.stderr
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(r["tag"], r["purchase_cost"]) for r in records] == [("P-1", 10), ("P-2", 20.5)]
    bad = cli.sub("asset", "import", "-", input="tag,name,category\nP-3,x,\n")
    assert bad.exit_code == 2
    assert "line 2, column category, value ''" in bad.stderr
    assert counts(db_url) == (2, 2)


def _spawn(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(ASSETCTL_BIN), "asset", "import", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
    )


def _feed(stdin: IO[str] | None, count: int) -> None:
    assert stdin is not None
    stdin.write("tag,name,category,status,serial,assignee,purchase_date,purchase_cost,notes\n")
    stdin.writelines(rows(0, count))
    stdin.flush()


def _holds_transaction(db_url: str) -> bool:
    """True while another process holds a transaction open on the database."""
    if db_url.startswith("sqlite"):
        probe = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True  # locked: the importer's write transaction is open
        finally:
            probe.close()
        return False
    with connect(db_url) as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'assetctl' "
                "AND datname = current_database() AND xact_start IS NOT NULL "
                "AND (query ILIKE '%import_staging%' OR query ILIKE 'COPY assets %')"
            )
        ).scalar_one()
    return bool(found)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_import_writes_nothing(
    cli: Cli, db_url: str, tmp_path: Path, sig: signal.Signals
) -> None:
    """Kill the importer while its transaction is open and thousands of rows are in."""
    insert_assets(db_url, [{"tag": "KEEP-1", "name": "kept", "category": "laptop"}])
    before = snapshot(db_url)
    proc = _spawn(cli, "-")
    try:
        _feed(proc.stdin, 20_000)  # stdin stays open: the import is mid-file
        wait_for(lambda: _holds_transaction(db_url), "the import transaction")
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, stderr
    wait_for(lambda: not _holds_transaction(db_url), "the killed transaction to end")
    assert snapshot(db_url) == before
    # The database is usable afterwards: the same import now succeeds.
    done = cli.sub("asset", "import", "-", input="tag,name,category\nAFTER-1,x,y\n")
    assert done.exit_code == 0, done.stderr
    assert counts(db_url)[0] == 2


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    ("flags", "statement"),
    [([], "COPY assets %"), (["--update"], "%INSERT INTO assets%")],
    ids=["fast-path", "staging-path"],
)
def test_import_killed_while_writing_assets_writes_nothing(
    cli: Cli, db_url: str, tmp_path: Path, flags: list[str], statement: str
) -> None:
    """PostgreSQL: make the importer block in the middle of inserting its assets, kill it
    there, and find none of them. Both write paths: a plain import COPYs straight into
    `assets`; with --update the rows go through the staging table and its checks first.

    Another transaction holds an uncommitted asset with the tag of the file's LAST row:
    neither the fast path nor the staging checks can see it, so the importer inserts the
    rows before it and then waits on the unique index for that transaction to finish. That
    is where it is killed."""
    count = 5_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("tag,name,category,status,serial,assignee,purchase_date,purchase_cost,notes\n")
        handle.writelines(rows(0, count))
    last_tag = f"K-{count - 1:07d}"
    before = snapshot(db_url)
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    blocker = engine.connect()
    proc: subprocess.Popen[str] | None = None
    try:
        transaction = blocker.begin()
        blocker.execute(
            text(
                "INSERT INTO assets (tag, name, category, status, version, created_at, "
                "updated_at, created_by, updated_by) VALUES (:tag, 'x', 'x', 'in_stock', 1, "
                "now(), now(), 'blocker', 'blocker')"
            ),
            {"tag": last_tag},
        )
        proc = _spawn(cli, str(path), *flags)

        def importer_blocked() -> bool:
            with connect(db_url) as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE application_name = 'assetctl' AND wait_event_type = 'Lock' "
                        "AND query ILIKE :statement"
                    ),
                    {"statement": statement},
                ).scalar_one()
            return bool(waiting)

        wait_for(importer_blocked, "the importer to block inside its insert")
        proc.kill()
        proc.wait(timeout=WAIT_S)
        transaction.rollback()
    finally:
        blocker.close()
        engine.dispose()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    wait_for(lambda: not _holds_transaction(db_url), "the killed transaction to end")
    assert snapshot(db_url) == before
    result = cli.sub("asset", "import", str(path), *flags, timeout=120)
    assert result.exit_code == 0, result.stderr
    assert counts(db_url) == (count, count)


def test_progress_bar_only_on_a_terminal(cli: Cli, db_url: str, tmp_path: Path) -> None:
    import pty

    path = tmp_path / "some.csv"
    path.write_text("tag,name,category\n" + "".join(f"T-{i},n,c\n" for i in range(3000)))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "asset", "import", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**cli.env, "TERM": "xterm-256color"},
    )
    os.close(slave)
    seen = read_terminal(master)
    assert proc.wait(timeout=WAIT_S) == 0, seen
    assert proc.stdout is not None and proc.stdout.read() == b""
    terminal = seen.decode(errors="replace")
    assert "Importing" in terminal
    assert "3000 created" in terminal
    # Not a terminal: no bar, just the summary.
    path2 = tmp_path / "more.csv"
    path2.write_text("tag,name,category\nX-1,n,c\n")
    piped = cli.sub("asset", "import", str(path2))
    assert piped.exit_code == 0
    assert "Importing" not in piped.stderr
    assert piped.stderr.strip() == "Imported 1 row (csv): 1 created, 0 updated, 0 unchanged."


def test_import_bumps_the_cache_generation_once(cli: Cli, db_url: str, tmp_path: Path) -> None:
    """A listing cached before the import is never served after it, and the whole import
    costs one generation bump however many rows it writes."""
    import redis

    from .cache_helpers import data_generation, postgres_only

    postgres_only(db_url)
    url = "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _service_missing("Redis", f"{url}: {exc}")
    rcli = Cli({**cli.env, "ASSETCTL_REDIS_URL": url})
    rcli.ok("asset", "import", "-", input="tag,name,category\nC-0,first,c\n")
    assert [r["tag"] for r in rcli.ok("asset", "list", "-o", "json").json()["items"]] == ["C-0"]
    before = data_generation(db_url)
    body = "tag,name,category\n" + "".join(f"C-{i},n,c\n" for i in range(1, 501))
    rcli.ok("asset", "import", "-", input=body)
    assert data_generation(db_url) == before + 1
    listed = rcli.ok("asset", "list", "--limit", "1000", "-o", "json").json()["items"]
    assert len(listed) == 501
    # A rejected import writes nothing and leaves the generation alone; so does a dry run.
    assert rcli("asset", "import", "-", input="tag,name,category\nC-1,n,c\n").exit_code == 6
    assert data_generation(db_url) == before + 1
    rcli.ok("asset", "import", "--dry-run", "-", input="tag,name,category\nC-999,n,c\n")
    assert data_generation(db_url) == before + 1


def test_a_dry_run_uses_up_no_asset_ids(cli: Cli, tmp_path: Path) -> None:
    """Ids are not promised to be gapless, but a dry run must leave no trace at all."""
    first = cli.ok("asset", "add", "--tag", "ID-1", "--name", "n", "--category", "c",
                   "-o", "json").json()  # fmt: skip
    body = "tag,name,category\n" + "".join(f"DRY-{i},n,c\n" for i in range(50))
    result = cli.ok("asset", "import", "--dry-run", "-", input=body)
    assert "Would import 50 rows (csv): 50 created" in result.stderr
    second = cli.ok("asset", "add", "--tag", "ID-2", "--name", "n", "--category", "c",
                    "-o", "json").json()  # fmt: skip
    assert second["id"] == first["id"] + 1


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_no_room_to_keep_piped_input_is_a_clear_error(cli: Cli, db_url: str) -> None:
    """A piped import is copied to a temporary file so it can be read twice. When the disk
    refuses that copy (here a 64 kB file size limit on the process), the import stops (exit 7) with
    a clear error naming the way out, and writes nothing."""
    import resource

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write(), not a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    before = snapshot(db_url)
    body = "tag,name,category,status,serial,assignee,purchase_date,purchase_cost,notes\n"
    body += "".join(rows(0, 5000))  # about 300 kB
    proc = subprocess.run(
        [str(ASSETCTL_BIN), "asset", "import", "-"],
        input=body,
        capture_output=True,
        text=True,
        env=cli.env,
        preexec_fn=limit_file_size,
        timeout=WAIT_S,
        check=False,
    )
    assert proc.returncode == 7, proc.stderr  # the disk is short of room: issue 18
    assert "Traceback" not in proc.stderr
    assert "cannot keep a copy of the piped input in" in proc.stderr
    assert "File too large; nothing was imported" in proc.stderr
    assert "TMPDIR" in proc.stderr
    assert snapshot(db_url) == before
