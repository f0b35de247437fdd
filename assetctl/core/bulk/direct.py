"""The fast path of a PostgreSQL import that only creates assets.

Most imports are clean files of new assets. For those, the staging table and its set-based
checks are extra work for the server, and the server is the busy side of an import. Here the
rows go straight into `assets` by COPY while Python validates the next ones; the history
trigger (`db/history_trigger.py`) writes their `imported` events from the COPY's transition
table. The table's unique indexes and constraints stand in for the duplicate and conflict
checks.

It is optimistic. At the first sign of a problem (a bad cell, a row the staging path would
list, a unique or constraint violation from the server) it raises `NeedsChecks`; the caller
rolls back to a savepoint and runs the staging path (`bulk.staging`) over the file again, which
lists every problem. Nothing of the attempt is left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain, islice
from typing import TYPE_CHECKING, Any

from assetctl.core.assets import rules
from assetctl.core.bulk.copy_in import copy_in, csv_batches
from assetctl.core.bulk.reader import IMPORT_FIELDS
from assetctl.core.bulk.staging import COLUMN, exec_sql
from assetctl.db.engine import raw_cursor

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

# Ids are reserved from the sequence before each COPY, in blocks that grow from FIRST_IDS to
# MAX_IDS: few round trips for a large import. Ids the last block does not use are gaps, as
# after any rolled-back insert; an import of up to FIRST_IDS rows reserves exactly its own.
FIRST_IDS = 256
MAX_IDS = 16_384

_INDEX = {f: i for i, f in enumerate(IMPORT_FIELDS)}
_NAME, _CATEGORY = _INDEX["name"], _INDEX["category"]
_STATUS, _ASSIGNEE = _INDEX["status"], _INDEX["assignee"]
_ASSET_COLUMNS = (
    "id",
    *COLUMN.values(),
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
)


class NeedsChecks(Exception):
    """The file cannot take the fast path; the staging path's checks will say why."""


def _new_assets(
    ids: Iterator[int],
    rows: Iterator[tuple[Any, ...]],
    still_clean: Callable[[], bool],
    tail: tuple[Any, ...],
) -> Iterator[tuple[Any, ...]]:
    """`assets` rows for COPY: each staging tuple with its id, default status and the
    bookkeeping columns. Raises NeedsChecks at a row the staging path would have to judge."""
    # zip() asks `ids` first: when they run out, no row is taken from `rows`.
    for asset_id, row in zip(ids, rows, strict=False):
        if not still_clean() or not row[1]:
            raise NeedsChecks
        values = row[3:]
        if values[_NAME] is None or values[_CATEGORY] is None:
            raise NeedsChecks
        status, assignee = values[_STATUS], values[_ASSIGNEE]
        if status is None:
            status = rules.default_status(assignee)
            values = (*values[:_STATUS], status, *values[_STATUS + 1 :])
        if rules.violation(status, assignee) is not None:
            raise NeedsChecks
        yield (asset_id, *values, *tail)


def _reserve_ids(session: Session, sequence: str, count: int) -> Iterator[int]:
    # The name as a parameter: pg_get_serial_sequence() in the select list would be looked
    # up again for every id (four times slower). A raw cursor: no Row object per id.
    with raw_cursor(session) as cursor:
        cursor.execute(
            "SELECT nextval(CAST(%s AS regclass)) AS id FROM generate_series(1, %s) ORDER BY id",
            (sequence, count),
        )
        return iter([row[0] for row in cursor.fetchall()])


def insert_new(
    session: Session,
    rows: Iterator[tuple[Any, ...]],
    still_clean: Callable[[], bool],
    actor: str,
    now: datetime,
) -> None:
    """Insert every row of `rows` (staging tuples: line, ok, given, then IMPORT_FIELDS) as a
    new asset; PostgreSQL's history trigger writes each one's `imported` event.
    `still_clean` is asked after each row whether the reader and validator have found no
    problem so far.

    Raises NeedsChecks as soon as the file turns out to need the staging path; the caller
    must then roll back to a savepoint taken before the call."""
    import psycopg2

    from assetctl.db.audit import announce

    announce(session, "imported", actor)
    sequence = exec_sql(session, "SELECT pg_get_serial_sequence('assets', 'id')").scalar_one()
    copy_assets = f"COPY assets ({', '.join(_ASSET_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
    stamp = now.isoformat()
    tail = (1, stamp, stamp, actor, actor)
    try:
        # A file that ends within the first block reserves exactly as many ids as it has
        # rows (none when empty): small imports leave no gaps.
        head = list(islice(rows, FIRST_IDS))
        size = len(head)
        rows = chain(head, rows)
        # One COPY per block of reserved ids; the first row of a block is read before its
        # ids are reserved.
        while (first := next(rows, None)) is not None:
            ids = _reserve_ids(session, sequence, size)
            block = _new_assets(ids, chain([first], rows), still_clean, tail)
            copy_in(session, copy_assets, csv_batches(block, limit=size))
            size = min(size * 2, MAX_IDS)
        if not still_clean():
            raise NeedsChecks
    except (psycopg2.IntegrityError, psycopg2.DataError):
        raise NeedsChecks from None
