"""Token storage in a real Secret Service keyring: gnome-keyring-daemon inside a private
D-Bus session (`dbus-run-session`), driven through the installed `assetctl` entry point.

`.ci/run` installs gnome-keyring and dbus from Debian's packages. Where they are missing the
tests skip with a summary line, and under CI=true they fail instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ASSETCTL_BIN, IN_CI, Cli

pytestmark = pytest.mark.keyring

TOOLS = ("dbus-run-session", "gnome-keyring-daemon")


@pytest.fixture
def session_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = (
            f"real keyring tests need {', '.join(missing)} (apt-get install gnome-keyring dbus)"
        )
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _run_in_dbus(
    tmp_path: Path, env: dict[str, str], steps: list[str], *, unlock: bool
) -> list[dict[str, object]]:
    """Run assetctl `steps` (argument strings) inside one D-Bus session with a keyring daemon;
    return exit code, stdout and stderr of each."""
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)
    (home / ".local" / "share").mkdir(parents=True)
    out = tmp_path / "steps"
    out.mkdir()
    unlock_cmd = (
        "printf %s keyring-test-password | gnome-keyring-daemon --unlock --components=secrets "
        "--daemonize >/dev/null"
        if unlock
        else "gnome-keyring-daemon --components=secrets --daemonize >/dev/null"
    )
    lines = ["set -u", unlock_cmd]
    for number, step in enumerate(steps):
        lines.append(
            f"( {step} ) >{out}/{number}.out 2>{out}/{number}.err </dev/null; "
            f"echo $? >{out}/{number}.rc"
        )
    script = tmp_path / "steps.sh"
    script.write_text("\n".join(lines) + "\n")
    run_env = {**env, "HOME": str(home), "ASSETCTL_TOKEN": ""}
    run_env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    run_env.pop("PYTHON_KEYRING_BACKEND", None)
    subprocess.run(
        ["dbus-run-session", "--", "bash", str(script)],
        env=run_env, timeout=120, check=True, capture_output=True,
    )  # fmt: skip
    return [
        {
            "rc": int((out / f"{n}.rc").read_text()),
            "out": (out / f"{n}.out").read_text(),
            "err": (out / f"{n}.err").read_text(),
        }
        for n in range(len(steps))
    ]


def _cmd(*args: str, password: bool = False) -> str:
    quoted = " ".join(f"'{a}'" for a in [str(ASSETCTL_BIN), *args])
    return f"printf '%s\\n' '{ADMIN_PASSWORD}' | {quoted}" if password else quoted


def _keyring_value() -> str:
    probe = (
        "import keyring; v = keyring.get_password('assetctl', 'default'); "
        "print('' if v is None else v)"
    )
    import sys

    return f"'{sys.executable}' -c \"{probe}\""


@pytest.mark.usefixtures("session_tools")
def test_login_keeps_the_token_in_the_secret_service(sqlite_cli: Cli, tmp_path: Path) -> None:
    steps = [
        _cmd("auth", "login", "--email", ADMIN_EMAIL, "--password-stdin", password=True),
        _cmd("auth", "status", "-o", "json"),
        _cmd("auth", "token"),
        _keyring_value(),
        _cmd("asset", "list", "-o", "json"),
        _cmd("auth", "logout"),
        _keyring_value(),
        _cmd("asset", "list"),
    ]
    login, status, token, stored, listing, logout, after, denied = _run_in_dbus(
        tmp_path, sqlite_cli.env, steps, unlock=True
    )
    assert login["rc"] == 0, login
    assert "OS keyring" in str(login["err"])
    assert json.loads(str(status["out"]))["source"] == "keyring"
    assert str(stored["out"]).strip() == str(token["out"]).strip() != ""
    assert listing["rc"] == 0, listing
    assert logout["rc"] == 0, logout
    assert str(after["out"]).strip() == ""
    assert denied["rc"] == 4
    # Nothing fell back to a file.
    assert not (tmp_path / "data" / "assetctl" / "tokens" / "default.jwt").exists()


@pytest.mark.usefixtures("session_tools")
def test_locked_keyring_fails_login_with_both_ways_out(sqlite_cli: Cli, tmp_path: Path) -> None:
    # A daemon that was never unlocked: storing would need an interactive unlock prompt.
    steps = [
        _cmd("auth", "login", "--email", ADMIN_EMAIL, "--password-stdin", password=True),
        _cmd("asset", "list"),
    ]
    env = {**sqlite_cli.env, "ASSETCTL_KEYRING_TIMEOUT": "3"}
    login, listing = _run_in_dbus(tmp_path, env, steps, unlock=False)
    assert login["rc"] == 4, login
    assert "--insecure-storage" in str(login["err"])
    assert "ASSETCTL_TOKEN" in str(login["err"])
    assert listing["rc"] == 4
    assert not (tmp_path / "data" / "assetctl" / "tokens" / "default.jwt").exists()
