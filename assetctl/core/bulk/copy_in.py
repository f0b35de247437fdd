"""COPY FROM STDIN for imports (PostgreSQL): rows turned into CSV text piece by piece as
psycopg2 asks for it, so a file of any size streams through in bounded memory, in the
session's transaction."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assetctl.db.engine import raw_cursor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

COPY_BATCH = 2000  # rows per piece of COPY text
FIRST_PIECE = 100  # rows in the first piece of a COPY (see csv_batches)


def csv_batches(rows: Iterator[tuple[Any, ...]], limit: int | None = None) -> Iterator[str]:
    """`rows` as CSV text for COPY, in pieces of up to COPY_BATCH rows (at most `limit` rows
    in all). The first pieces are small: the server waits for the first piece of a COPY, and
    the rows of a piece are validated as it is made."""
    left = limit
    piece = FIRST_PIECE
    while left is None or left > 0:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        size = piece if left is None else min(piece, left)
        count = 0
        for count, row in enumerate(rows, 1):
            writer.writerow(row)
            if count == size:
                break
        if count:
            yield buffer.getvalue()
        if count < size:
            return
        if left is not None:
            left -= count
        piece = min(piece * 4, COPY_BATCH)


class _CopyStream:
    """A read()-able view of text pieces for COPY FROM STDIN, produced as psycopg2 asks."""

    def __init__(self, pieces: Iterator[str]) -> None:
        self.pieces = pieces
        # psycopg2 turns an exception raised in read() (Ctrl-C, an I/O error, a row that
        # must stop the COPY) into QueryCanceled; keep the original so the caller can
        # re-raise what really happened.
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> str:
        del size  # psycopg2 sends whatever we return; a piece at a time keeps memory flat
        try:
            return next(self.pieces, "")
        except BaseException as exc:
            self.error = exc
            raise

    def readline(self, size: int = -1) -> str:  # pragma: no cover - psycopg2 uses read()
        return self.read(size)


def copy_in(session: Session, sql: str, pieces: Iterator[str]) -> None:
    """Run `COPY ... FROM STDIN` (PostgreSQL) fed by `pieces` of text, in the session's
    transaction. An exception raised while producing a piece is re-raised as itself."""
    stream = _CopyStream(pieces)
    with raw_cursor(session) as cursor:
        try:
            cursor.copy_expert(sql, stream)
        except Exception:
            if stream.error is not None:
                raise stream.error from None
            raise
