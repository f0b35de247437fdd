"""An import's input, readable a second time from its start.

The fast path of an import (`import_direct`) may give up part-way through a file; the checked
path then reads the file again. A regular file seeks back. A pipe (`asset import -`) cannot,
so what is read from it is copied to an anonymous temporary file on the way: the disk holds
what was read, memory one block.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO


class _Recorder(io.RawIOBase):
    """Reads `source`, writing a copy of every byte to `spool`."""

    def __init__(self, source: BinaryIO, spool: IO[bytes]) -> None:
        self.source = source
        self.spool = spool

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.source.read(len(buffer))
        self.spool.write(data)
        buffer[: len(data)] = data
        return len(data)


class _Replay(io.RawIOBase):
    """The spool from its start, then the rest of `source`."""

    def __init__(self, spool: IO[bytes], source: BinaryIO) -> None:
        self.spool = spool
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.spool.read(len(buffer)) or self.source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def rereadable(stream: BinaryIO) -> Iterator[tuple[BinaryIO, Callable[[], BinaryIO]]]:
    """`stream` to read now, and a function returning a stream of the same bytes from the
    start (call it once, after the first reader is done with `stream`)."""
    if stream.seekable():
        start = stream.tell()

        def seek_back() -> BinaryIO:
            stream.seek(start)
            return stream

        yield stream, seek_back
        return
    with tempfile.TemporaryFile() as spool:

        def replay() -> BinaryIO:
            spool.seek(0)
            return io.BufferedReader(_Replay(spool, stream))

        yield io.BufferedReader(_Recorder(stream, spool)), replay
