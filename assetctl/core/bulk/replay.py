"""An import's input, readable a second time from its start.

The fast path of an import (`bulk.direct`) may give up part-way through a file, and the
first non-ISO date sends the importer back for a pass over the date columns (`bulk.dates`);
the file is then read again. A regular file seeks back. A pipe (`asset import -`) cannot,
so what is read from it is copied to an anonymous temporary file on the way: the disk holds
what was read, memory one block. A temporary directory too small for that stops the import
with a clear error (exit 7), rolled back like any other.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO

from assetctl.errors import ServiceUnavailableError


def _no_spool(exc: OSError) -> ServiceUnavailableError:
    # Exit 7: the disk (or a quota, or `ulimit -f`) is short of space, not the input wrong.
    return ServiceUnavailableError(
        f"cannot keep a copy of the piped input in {tempfile.gettempdir()}: "
        f"{exc.strerror or exc}; nothing was imported",
        hint="free space there, point TMPDIR at a larger directory, or import from a file",
    )


class _Recorder(io.RawIOBase):
    """Reads `source`, writing a copy of every byte to `spool`."""

    def __init__(self, source: BinaryIO, spool: IO[bytes]) -> None:
        self.source = source
        self.spool = spool

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.source.read(len(buffer))
        try:
            self.spool.write(data)
        except OSError as exc:
            raise _no_spool(exc) from None
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def rereadable(stream: BinaryIO) -> Iterator[tuple[BinaryIO, Callable[[], BinaryIO]]]:
    """`stream` to read now, and a function returning a stream of the same bytes from the
    start (call it after the previous reader is done; as often as needed)."""
    if stream.seekable():
        start = stream.tell()

        def seek_back() -> BinaryIO:
            stream.seek(start)
            return stream

        yield stream, seek_back
        return
    try:
        # Unbuffered: a write that fails (disk full, `ulimit -f`) fails in `_Recorder`, where
        # it is reported, not again when the spool is closed, hiding that report.
        spool = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _no_spool(exc) from None
    with spool:

        def replay() -> BinaryIO:
            # What the first reader left unread is copied too, so any number of readers
            # can start from the beginning, one after the other.
            spool.seek(0, io.SEEK_END)
            try:
                shutil.copyfileobj(stream, spool)
            except OSError as exc:
                raise _no_spool(exc) from None
            spool.seek(0)
            return spool

        yield io.BufferedReader(_Recorder(stream, spool)), replay
