"""Reading passwords: a hidden prompt on a terminal, `--password-stdin` for scripts, never
a flag value (it would land in shell history and `ps`)."""

from __future__ import annotations

import sys

import typer

from assetctl.errors import InvalidInputError

# Enough for the longest allowed password plus a line ending; more is rejected, not cut.
_STDIN_LIMIT = 4 * 1024 + 2


def _read_line() -> str:
    line = sys.stdin.readline(_STDIN_LIMIT)
    if len(line) >= _STDIN_LIMIT and not line.endswith("\n"):
        raise InvalidInputError("the password on standard input is longer than 1024 bytes")
    return line.removesuffix("\n").removesuffix("\r")


def read_passwords(prompts: list[tuple[str, bool]], *, from_stdin: bool) -> list[str]:
    """One password per (prompt, confirm) pair: prompted on a terminal, or one line each
    from standard input with --password-stdin."""
    if from_stdin:
        return [_read_line() for _ in prompts]
    if not sys.stdin.isatty():
        raise InvalidInputError(
            "there is no terminal to ask for the password",
            hint="pass it on standard input with --password-stdin",
        )
    return [
        str(typer.prompt(text, hide_input=True, confirmation_prompt=confirm, err=True))
        for text, confirm in prompts
    ]
