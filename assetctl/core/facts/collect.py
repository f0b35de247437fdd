"""Collecting the facts of the machine the command runs on: the collector of its platform,
and the one way every collector runs a system command (bounded in time, text out)."""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence

from assetctl.core.facts.model import Facts
from assetctl.errors import InvalidInputError, ServiceUnavailableError

# Runs a command and returns its standard output as text.
Runner = Callable[[Sequence[str]], str]
TIMEOUT_S = 30


def run_command(argv: Sequence[str]) -> str:
    """`argv`'s standard output; ServiceUnavailableError (exit 7) when it cannot run or
    fails, naming the program."""
    import subprocess

    try:
        proc = subprocess.run(  # noqa: S603 - argv is one of our own fixed commands
            list(argv), capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceUnavailableError(
            f"could not run {argv[0]}: {type(exc).__name__}",
            hint="register from a facts file instead: --facts FILE",
        ) from None
    if proc.returncode != 0:
        raise ServiceUnavailableError(
            f"{argv[0]} failed with exit status {proc.returncode}",
            hint="register from a facts file instead: --facts FILE",
        )
    return proc.stdout


def collect_local(*, serial: str | None = None, runner: Runner = run_command) -> Facts:
    """The facts of this machine. `serial` (from `--serial`) stands in for the firmware's,
    and then the serial is not read (on Linux it needs root)."""
    system = platform.system()
    if system == "Linux":
        from assetctl.core.facts.linux import collect_linux

        return collect_linux(serial=serial, runner=runner)
    if system == "Darwin":
        from assetctl.core.facts.macos import collect_macos

        return collect_macos(serial=serial, runner=runner)
    if system == "Windows":
        from assetctl.core.facts.windows import collect_windows

        return collect_windows(serial=serial, runner=runner)
    raise InvalidInputError(
        f"collecting facts on {system or 'this system'} is not supported",
        hint="register from a facts file instead: --facts FILE",
    )
