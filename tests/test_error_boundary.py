"""The single error boundary: Ctrl-C and a closed stdout end the way Unix users expect."""

from __future__ import annotations

import signal
import subprocess
import time

from tests.asset_fixtures import insert_assets
from tests.conftest import ASSETCTL_BIN, Cli


def test_ctrl_c_exits_130_and_says_so(cli: Cli) -> None:
    # `asset import -` waits on stdin: a command that is busy when the user hits Ctrl-C.
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "asset", "import", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.env,
    )  # fmt: skip
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert b"interrupted" in stderr
    assert b"Traceback" not in stderr
    assert cli.ok("asset", "list", "-o", "json").json()["items"] == []


def test_reader_going_away_is_not_an_error_message(cli: Cli, db_url: str) -> None:
    # Far more than a pipe buffer, so assetctl is still writing when `head` exits.
    insert_assets(db_url, [{"tag": f"LAP-{n:05d}", "name": "x" * 100, "category": "laptop"}
                           for n in range(3000)])  # fmt: skip
    shell = f"'{ASSETCTL_BIN}' asset list --all -o jsonl | head -c 10 >/dev/null"
    proc = subprocess.run(
        ["bash", "-c", f"{shell}; echo rc=${{PIPESTATUS[0]}} >&2"],
        env=cli.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "rc=141" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error:" not in proc.stderr
