"""Start-up hygiene: `--help` and `--version` must not import the heavy dependencies.

Each case runs in a fresh interpreter (this test process has long since imported everything),
calls the real error boundary `assetctl.cli.main.run` and reports `sys.modules` as JSON on the
last line of stdout. Timing is measured by `benchmarks/startup.py`, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import assetctl

# Importing any of these costs tens of milliseconds (or opens connections); they belong to the
# commands that need them, never to the start-up path.
FORBIDDEN = ("sqlalchemy", "psycopg2", "redis", "httpx", "keyring", "jwt", "PIL", "alembic")

MARKER = "--- sys.modules ---"
PROBE = f"""\
import json
import sys

sys.argv = ["assetctl", *sys.argv[1:]]
from assetctl.cli.main import run

code = run(sys.argv[1:])
sys.stdout.flush()
print()
print({MARKER!r})
print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""

ASSETCTL_BIN = Path(sys.executable).parent / "assetctl"


@dataclass
class Probe:
    code: int
    stdout: str
    stderr: str
    modules: list[str]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETCTL_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["COLUMNS"] = "100"
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _probe(tmp_path: Path, *args: str) -> Probe:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    text, sep, report = proc.stdout.rpartition(f"\n{MARKER}\n")
    assert sep, proc.stdout
    data = json.loads(report)
    return Probe(code=data["code"], stdout=text, stderr=proc.stderr, modules=data["modules"])


def _heavy(modules: list[str]) -> list[str]:
    return [
        name
        for name in modules
        if any(name == bad or name.startswith(f"{bad}.") for bad in FORBIDDEN)
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--help",), ("Usage: assetctl [OPTIONS] COMMAND", "Exit codes:", "asset")),
        (("--version",), (f"assetctl {assetctl.__version__}\n",)),
        (("asset", "--help"), ("Usage: assetctl asset [OPTIONS] COMMAND", "list")),
        (("asset", "list", "--help"), ("Usage: assetctl asset list [OPTIONS]", "--output")),
    ],
    ids=["help", "version", "asset-help", "asset-list-help"],
)
def test_startup_does_not_import_heavy_modules(
    tmp_path: Path, args: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    result = _probe(tmp_path, *args)

    assert result.code == 0, (result.stdout, result.stderr)
    for text in expected:
        assert text in result.stdout, (text, result.stdout)
    assert _heavy(result.modules) == []
    # The probe itself must have worked: the CLI really was imported in that interpreter.
    assert "assetctl.cli.main" in result.modules


def test_version_output_is_exact(tmp_path: Path) -> None:
    result = _probe(tmp_path, "--version")

    assert result.stdout == f"assetctl {assetctl.__version__}\n"
    assert result.stderr == ""


def test_console_script_version(tmp_path: Path) -> None:
    if not ASSETCTL_BIN.exists():
        pytest.skip(f"console script not installed at {ASSETCTL_BIN}")
    proc = subprocess.run(
        [str(ASSETCTL_BIN), "--version"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"assetctl {assetctl.__version__}\n"
    assert proc.stderr == ""
