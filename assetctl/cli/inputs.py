"""Input files named on the command line (`asset import FILE`, `--from FILE`, `--facts
FILE`): `-` is stdin; a file that cannot be read is bad input (exit 2) naming it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from assetctl.errors import InvalidInputError


@contextmanager
def open_input(path: str) -> Iterator[tuple[BinaryIO, int | None]]:
    """The open file (binary) and its size in bytes when known."""
    if path == "-":
        yield sys.stdin.buffer, None
        return
    import os

    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the import
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read {path}: {exc.strerror or exc}", hint="check the file name"
        ) from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        yield handle, size if size > 0 else None


def read_lines(path: str) -> list[str]:
    """The UTF-8 text lines of `path` (or stdin)."""
    with open_input(path) as (stream, _size):
        data = stream.read()
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from None
