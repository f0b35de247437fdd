"""The fast path of a PostgreSQL import that only creates assets.

Most imports are clean files of new assets. For those, the staging table and its set-based
checks are extra work for the server, and the server is the busy side of an import. Here the
rows go straight into `assets` by COPY while Python validates the next ones. The CSV sent is
also spooled, and one more COPY at the end writes the `imported` history events, built in
Python from the spool while the server writes the previous ones. The table's unique indexes
and constraints stand in for the duplicate and conflict checks.

It is optimistic. At the first sign of a problem (a bad cell, a row the staging path would
list, a unique or constraint violation from the server) it raises `NeedsChecks`; the caller
rolls back to a savepoint and runs the staging path (`bulk.staging`) over the file again, which
lists every problem. Nothing of the attempt is left behind.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator
from itertools import chain, islice
from json.encoder import encode_basestring
from typing import IO, TYPE_CHECKING, Any

from assetctl.core.assets import rules
from assetctl.core.assets.schema import Kind, kind
from assetctl.core.bulk.copy_in import COPY_BATCH, copy_in, csv_batches
from assetctl.core.bulk.reader import IMPORT_FIELDS
from assetctl.core.bulk.staging import COLUMN, exec_sql
from assetctl.db.engine import raw_cursor
from assetctl.json_values import cents_text

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

# Ids are reserved from the sequence before each COPY, in blocks that grow from FIRST_IDS to
# MAX_IDS: few round trips for a large import. Ids the last block does not use are gaps, as
# after any rolled-back insert; an import of up to FIRST_IDS rows reserves exactly its own.
FIRST_IDS = 256
MAX_IDS = 16_384
# The assets CSV is kept in memory up to this size, then in an anonymous temporary file.
SPOOL_BYTES = 16 * 1024 * 1024

_INDEX = {f: i for i, f in enumerate(IMPORT_FIELDS)}
_NAME, _CATEGORY = _INDEX["name"], _INDEX["category"]
_STATUS, _ASSIGNEE = _INDEX["status"], _INDEX["assignee"]
_MONEY = frozenset(i for i, f in enumerate(IMPORT_FIELDS) if kind(f) is Kind.MONEY)
_JSON = frozenset(i for i, f in enumerate(IMPORT_FIELDS) if kind(f) is Kind.JSON)
_ASSET_COLUMNS = (
    "id",
    *COLUMN.values(),
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
)
# `"field": {"old": null, "new": ` for each field, in IMPORT_FIELDS order: the history of a
# new asset, in the shape `assets.commands` and the staging path write it.
_CHANGE_PREFIX = tuple(f'"{f}": {{"old": null, "new": ' for f in IMPORT_FIELDS)


class NeedsChecks(Exception):
    """The file cannot take the fast path; the staging path's checks will say why."""


def _copy_text(value: str) -> str:
    """A value escaped for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _created_json(values: list[str]) -> str:
    """The `imported` event's changes: {field: {"old": null, "new": value}} of the non-null
    fields, with the cost as a decimal string (what `Dialect.created` builds in SQL).
    `values` come back from the assets CSV, so an empty string is NULL (the parsers never
    leave an empty value)."""
    parts = []
    for index, value in enumerate(values):
        if not value:
            continue
        if index in _MONEY:
            text = f'"{cents_text(int(value))}"'
        elif index in _JSON:
            text = value  # already JSON text (`fields.parse_description_source`)
        else:
            text = encode_basestring(value)
        parts.append(f"{_CHANGE_PREFIX[index]}{text}}}")
    return "{" + ", ".join(parts) + "}"


def _event_pieces(spool: IO[str], actor: str, now: datetime) -> Iterator[str]:
    """COPY text for `asset_events`: one `imported` event per row of `spool` (the CSV that
    was sent to `assets`)."""
    prefix = f"\timported\t{_copy_text(actor)}\t{now.isoformat()}\t"
    fields = slice(1, 1 + len(IMPORT_FIELDS))
    lines: list[str] = []
    for row in csv.reader(spool):
        changes = _created_json(row[fields])
        if "\\" in changes:  # JSON has escaped every other character COPY text would
            changes = changes.replace("\\", "\\\\")
        lines.append(f"{row[0]}{prefix}{changes}\n")
        if len(lines) == COPY_BATCH:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


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


def _spooled(pieces: Iterator[str], spool: IO[str]) -> Iterator[str]:
    for piece in pieces:
        spool.write(piece)
        yield piece


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
    new asset with its `imported` event. `still_clean` is asked after each row whether the
    reader and validator have found no problem so far.

    Raises NeedsChecks as soon as the file turns out to need the staging path; the caller
    must then roll back to a savepoint taken before the call."""
    import psycopg2

    sequence = exec_sql(session, "SELECT pg_get_serial_sequence('assets', 'id')").scalar_one()
    copy_assets = f"COPY assets ({', '.join(_ASSET_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
    stamp = now.isoformat()
    tail = (1, stamp, stamp, actor, actor)
    # Events are built from the spooled CSV during their own COPY, not while the assets
    # stream: then Python is busy validating, and the server would wait for it.
    with tempfile.SpooledTemporaryFile(
        SPOOL_BYTES, mode="w+", encoding="utf-8", newline=""
    ) as spool:
        try:
            # A file that ends within the first block reserves exactly as many ids as it has
            # rows (none when empty): small imports leave no gaps.
            head = list(islice(rows, FIRST_IDS))
            size = len(head)
            rows = chain(head, rows)
            # One COPY per block of reserved ids; the first row of a block is read before
            # its ids are reserved.
            while (first := next(rows, None)) is not None:
                ids = _reserve_ids(session, sequence, size)
                block = _new_assets(ids, chain([first], rows), still_clean, tail)
                copy_in(session, copy_assets, _spooled(csv_batches(block, limit=size), spool))
                size = min(size * 2, MAX_IDS)
            if not still_clean():
                raise NeedsChecks
            spool.seek(0)
            copy_in(
                session,
                "COPY asset_events (asset_id, action, actor, at, changes) FROM STDIN",
                _event_pieces(spool, actor, now),
            )
        except (psycopg2.IntegrityError, psycopg2.DataError):
            raise NeedsChecks from None
