"""Issue 17 part 2, "Audits", as users meet it: the installed `assetctl` entry point for the
main path, four scanners racing into one audit, and the interactive loop under a real
pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import random
import select
import subprocess
import time
from collections import Counter

from .asset_fixtures import insert_assets
from .audit_helpers import seed_floor, table_rows
from .conftest import ASSETCTL_BIN, WAIT_S, Cli, read_terminal


def test_main_path_through_the_installed_entry_point(cli: Cli) -> None:
    seed_floor(cli)
    started = cli.sub("audit", "start", "--location", "Berlin")
    assert started.exit_code == 0, started.stderr
    audit = started.stdout.strip()
    assert audit.isdigit() and f"Scan with `assetctl audit scan {audit}`" in started.stderr
    scanned = cli.sub("audit", "scan", audit, input="LAP-1\nSER-2\nMON-9\nWHAT\n")
    assert scanned.exit_code == 0, scanned.stderr
    assert [line.split("\t")[:3] for line in scanned.stdout.splitlines()] == [
        ["1", "found", "LAP-1"], ["2", "found", "LAP-2"], ["3", "unexpected", "MON-9"],
        ["4", "unknown", ""],
    ]  # fmt: skip
    assert "2 of 4 found, 2 missing, 1 unexpected, 1 unknown code." in scanned.stderr
    status = cli.sub("audit", "status", audit, "-o", "json")
    assert status.exit_code == 0 and status.json()["audit"]["found"] == 2
    closed = cli.sub("audit", "close", audit, "--move-found", "-o", "json")
    assert closed.exit_code == 0, closed.stderr
    assert (closed.json()["audited"], closed.json()["moved"]) == (3, 1)
    again = cli.sub("audit", "close", audit)
    assert again.exit_code == 6 and again.stdout == ""
    assert f"error: audit {audit} was closed on " in again.stderr
    assert "Traceback" not in again.stderr
    report = cli.sub("report", "unaudited", "-o", "jsonl")
    assert [json.loads(line)["tag"] for line in report.stdout.splitlines()] == ["LAP-3", "MON-1"]


def test_four_scanners_at_once_count_exactly(cli: Cli) -> None:
    """Four processes stream overlapping codes into one audit, line by line and interleaved:
    every scan is logged, every asset is found exactly once, the counts are exact."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    insert_assets(url, [{"tag": f"T-{i:02}", "name": "x", "category": "c", "location": "L",
                         "serial": f"S{i:02}"} for i in range(50)]
                  + [{"tag": f"U-{i}", "name": "y", "category": "c", "location": "M"}
                     for i in range(5)])  # fmt: skip
    audit = cli.ok("audit", "start", "--location", "L").stdout.strip()
    # Each scanner finds T-00..T-39 (by tag or by serial), the five U's and three unknowns.
    base = [f"T-{i:02}" if i % 2 else f"S{i:02}" for i in range(40)]
    base += [f"U-{i}" for i in range(5)] + ["X-1", "X-2", "X-3"]
    plans = [random.Random(seed).sample(base, len(base)) for seed in range(4)]
    pipe = subprocess.PIPE
    command = [str(ASSETCTL_BIN), "audit", "scan", audit, "-o", "jsonl"]
    procs = [
        subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, env=cli.env) for _ in plans
    ]
    for position in range(len(base)):
        for proc, plan in zip(procs, plans, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(f"{plan[position]}\n".encode())
            proc.stdin.flush()
        if position % 8 == 0:
            time.sleep(0.05)  # let the scanners record what they have read so far
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=WAIT_S)
        assert proc.returncode == 0, err.decode()
        outputs += [json.loads(line) for line in out.decode().splitlines()]
    assert len(outputs) == 4 * len(base)
    first = Counter(r["tag"] for r in outputs if r["result"] in ("found", "unexpected"))
    assert first == Counter({r["tag"]: 1 for r in outputs if r["tag"] is not None})
    assert len(first) == 45
    assert Counter(r["result"] for r in outputs) == {
        "found": 40, "unexpected": 5, "again": 45 * 3, "unknown": 12,
    }  # fmt: skip
    assert len(table_rows(url, "audit_scans")) == 4 * len(base)
    assert len(table_rows(url, "audit_found")) == 45
    counts = cli.ok("audit", "status", audit, "-o", "json").json()["audit"]
    assert {k: counts[k] for k in ("expected", "found", "missing", "unexpected", "unknown",
                                   "scans")} == {
        "expected": 50, "found": 40, "missing": 10, "unexpected": 5, "unknown": 3,
        "scans": 4 * len(base),
    }  # fmt: skip


def _read_until(master: int, marker: bytes, seen: bytearray) -> None:
    """Read the terminal into `seen` until `marker` appears after what was already seen."""
    start = len(seen)
    deadline = time.monotonic() + WAIT_S
    while marker not in seen[start:]:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {marker!r}; got {bytes(seen[start:])!r}"
        ready, _, _ = select.select([master], [], [], remaining)
        if ready:
            seen += os.read(master, 65536)


def _ended(proc: subprocess.Popen[bytes]) -> bool:
    try:
        proc.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_interactive_loop_under_a_terminal(cli: Cli) -> None:
    seed_floor(cli)
    audit = cli.ok("audit", "start", "--location", "Berlin").stdout.strip()
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "audit", "scan", audit],
        stdin=slave, stdout=slave, stderr=slave, env=cli.env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    seen = bytearray()
    try:
        _read_until(master, b"[0/4] scan> ", seen)
        assert b"0 of 4 found" in seen
        os.write(master, b"LAP-1\n")
        _read_until(master, b"[1/4] scan> ", seen)
        assert b"found LAP-1 ThinkPad 1  (1/4)" in seen
        os.write(master, b"NOPE\n")
        _read_until(master, b"(1/4)", seen)
        assert b"\aUNKNOWN code 'NOPE'" in seen
        os.write(master, b"LAP-1\n")
        _read_until(master, b"already found: LAP-1", seen)
        os.write(master, b"SER-2\n")
        _read_until(master, b"[2/4] scan> ", seen)
        os.write(master, b"\x04")  # Ctrl-D at the start of a line: the end
        seen += read_terminal(master)
    finally:
        if proc.poll() is None and not _ended(proc):
            proc.kill()  # a failed step left it waiting for input
        proc.wait(timeout=WAIT_S)
    assert proc.returncode == 0, bytes(seen)
    assert b"2 of 4 found, 2 missing, 0 unexpected, 1 unknown code." in seen
    assert b"Traceback" not in seen
    assert [s["code"] for s in table_rows(cli.env["ASSETCTL_DATABASE_URL"], "audit_scans")] == [
        "LAP-1", "NOPE", "LAP-1", "SER-2",
    ]  # fmt: skip


def test_a_close_racing_scanners_loses_nothing(cli: Cli) -> None:
    """Two scanners stream codes while the audit is closed: every asset the audit found was
    applied by the close (none slipped in after it), and the codes after the close are
    refused with exit 6."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    insert_assets(url, [{"tag": f"R-{i:02}", "name": "r", "category": "c", "location": "L"}
                        for i in range(40)])  # fmt: skip
    audit = cli.ok("audit", "start", "--location", "L").stdout.strip()
    pipe = subprocess.PIPE
    command = [str(ASSETCTL_BIN), "audit", "scan", audit, "-o", "jsonl"]
    procs = [subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, env=cli.env)
             for _ in range(2)]  # fmt: skip
    closed = None
    for i in range(40):
        for n, proc in enumerate(procs):
            assert proc.stdin is not None
            try:
                proc.stdin.write(f"R-{(i + 20 * n) % 40:02}\n".encode())
                proc.stdin.flush()
            except BrokenPipeError:  # it stopped at the first code after the close
                pass
        if i == 15:
            closed = cli.sub("audit", "close", audit, "-o", "json")
        time.sleep(0.02)
    assert closed is not None
    assert closed.exit_code == 0, closed.stderr
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=WAIT_S)
        except BrokenPipeError:  # flushing stdin it no longer reads
            err = proc.stderr.read() if proc.stderr else b""
            proc.wait(timeout=WAIT_S)
        assert proc.returncode == 6, err.decode()
        assert f"audit {audit} was closed on " in err.decode()
    found = {row["asset_id"] for row in table_rows(url, "audit_found")}
    assert closed.json()["audited"] == len(found) > 0
    audited = {row["id"] for row in table_rows(url, "assets") if row["audited_by"] is not None}
    assert audited == found


def test_interactive_blank_line_rings_and_the_loop_goes_on(cli: Cli) -> None:
    seed_floor(cli)
    audit = cli.ok("audit", "start", "--location", "Berlin").stdout.strip()
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "audit", "scan", audit, "-o", "jsonl"],
        stdin=slave, stdout=slave, stderr=slave, env=cli.env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    seen = bytearray()
    try:
        _read_until(master, b"[0/4] scan> ", seen)
        os.write(master, b"\n")
        _read_until(master, b"[0/4] scan> ", seen)
        assert b"\aignored '' (blank)  (0/4)" in seen
        os.write(master, b"LAP-2\n")
        _read_until(master, b"[1/4] scan> ", seen)
        os.write(master, b"\x04")
        seen += read_terminal(master)
    finally:
        if proc.poll() is None and not _ended(proc):
            proc.kill()  # a failed step left it waiting for input
        proc.wait(timeout=WAIT_S)
    assert proc.returncode == 2, bytes(seen)
    assert b"line 1: ignored '' (blank)" in seen
    assert b'"line": 2, "code": "LAP-2", "result": "found"' in seen  # -o jsonl, at the end
    assert [s["code"] for s in table_rows(cli.env["ASSETCTL_DATABASE_URL"], "audit_scans")] == [
        "LAP-2"
    ]
