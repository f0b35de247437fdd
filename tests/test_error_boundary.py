"""The single error boundary: Ctrl-C ends the way Unix users expect (a closed stdout is
tested in test_cli_process.py)."""

from __future__ import annotations

import signal
import subprocess
import time

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
