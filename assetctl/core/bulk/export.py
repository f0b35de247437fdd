"""Streamed export of assets as CSV, JSON or JSON Lines, in constant memory.

Columns are the stable asset JSON field names, so a CSV or JSON Lines export is also a valid
import file. On PostgreSQL every format comes straight from `COPY (SELECT ...) TO STDOUT` with
each value already formatted by the server (CSV natively, JSON as `row_to_json` per row). On
SQLite rows are read in keyset batches (`assets.listing.stream_rows`) and formatted here. The
writer is handed in by the caller: this module never chooses where the data goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from assetctl.core.assets.commands import asset_record
from assetctl.core.assets.listing import Filters, Sort, filtered, ordered, stream_rows
from assetctl.core.assets.schema import ASSET_FIELDS, FIELDS, Kind, names_of
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.errors import InvalidInputError
from assetctl.writers import View, make_writer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EXPORT_FORMATS = ("csv", "json", "jsonl")
# Cells starting with these are formulas to spreadsheet programs (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Cells a spreadsheet could run as a formula: text that users or files wrote.
TEXT_FIELDS = names_of({Kind.TEXT, Kind.ENUM})
STREAM_BATCH = 2000  # rows between progress callbacks


def _defuse(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _records(session: Session, filters: Filters, sort: Sort) -> Iterator[dict[str, Any]]:
    return (asset_record(row) for row in stream_rows(session, filters, sort))


def _write_rows(
    out: TextIO,
    fmt: str,
    records: Iterator[Mapping[str, Any]],
    safe_csv: bool,
    progress: Callable[[int], None] | None,
) -> int:
    """The Python path (SQLite): the same writers as every other command's `-o`."""
    cell = (lambda f, text: _defuse(text) if f in TEXT_FIELDS else text) if safe_csv else None
    if progress is not None:
        records = _ticking(records, progress)
    return make_writer(fmt, out, View(ASSET_FIELDS, cell=cell)).write(records)


def _ticking(
    records: Iterator[Mapping[str, Any]], progress: Callable[[int], None]
) -> Iterator[Mapping[str, Any]]:
    """`records`, calling `progress(n)` after every STREAM_BATCH-th one is written."""
    for count, record in enumerate(records, 1):
        yield record
        if count % STREAM_BATCH == 0:
            progress(count)


def _pg_text(expr: str, safe_csv: bool) -> str:
    if not safe_csv:
        return expr
    starts = "'=', '+', '-', '@', chr(9), chr(13)"
    return f"CASE WHEN left({expr}, 1) IN ({starts}) THEN '''' || {expr} ELSE {expr} END"


def _pg_timestamp(col: str) -> str:
    # RFC 3339 UTC from the plain text output (DateStyle ISO is set for the export): to_char
    # would double the server's time. PostgreSQL drops trailing zeros of the fraction
    # (...:05.12Z where Python prints ...:05.120000Z); both denote the same instant.
    return f"replace(({col} AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z'"


def _pg_columns(fmt: str, safe_csv: bool) -> list[str]:
    """Select expressions giving each field as the export shows it. For JSON the types
    matter too: ids, version and cost are numbers, description_source an object."""
    exprs = []
    for field in FIELDS:
        col = f"assets.{field.column}"
        if field.kind in (Kind.TEXT, Kind.ENUM):
            expr = _pg_text(col, safe_csv)
        elif field.kind is Kind.MONEY:
            expr = f"{col} * 0.01"  # numeric of scale 2: 1299.50, 0.00
        elif field.kind is Kind.JSON:
            # JSON null (how the ORM stores "no source") is an empty cell, as in Python.
            expr = f"NULLIF({col}::text, 'null')"
            if fmt != "csv":
                expr += "::json"
        elif field.kind is Kind.TIMESTAMP:
            expr = _pg_timestamp(col)
        elif field.kind is Kind.DATE and fmt != "csv":
            expr = f"{col}::text"
        else:  # id, version, and dates (YYYY-MM-DD under DateStyle ISO)
            expr = col
        exprs.append(f'{expr} AS "{field.name}"')
    return exprs


class _JsonArray:
    """Receives one JSON object per COPY row and writes them as one streamed JSON array."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.count = 0

    def write(self, data: bytes) -> None:
        self.target.write((b",\n  " if self.count else b"[\n  ") + data.rstrip(b"\n"))
        self.count += 1

    def close(self) -> None:
        self.target.write(b"\n]\n" if self.count else b"[]\n")


def _copy(
    session: Session, out: TextIO, fmt: str, filters: Filters, sort: Sort, safe_csv: bool
) -> int:
    """PostgreSQL formats every row and COPY streams it: no Python work per row for CSV and
    JSON Lines, one small write per row for a JSON array."""
    from sqlalchemy import literal_column, select

    from assetctl.db.engine import raw_cursor
    from assetctl.db.tables import assets_table

    columns: Any = select(*(literal_column(e) for e in _pg_columns(fmt, safe_csv)))
    stmt = ordered(filtered(columns.select_from(assets_table), filters, postgres=True), sort)
    compiled = stmt.compile(dialect=session.get_bind().dialect)
    with raw_cursor(session) as cursor:
        cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        query = cursor.mogrify(str(compiled), compiled.params).decode()
        out.flush()
        # Bytes straight to the binary layer: no decode/encode per row.
        target = getattr(out, "buffer", out)
        if fmt == "csv":
            copy = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
        else:
            # One JSON text per row. CSV mode with control characters as quote and delimiter
            # passes it through untouched (JSON escapes every control character), where
            # text mode would double its backslashes.
            # `query` was bound by the driver (mogrify): no user text is spliced in here.
            copy = (
                f"COPY (SELECT row_to_json(r)::text FROM ({query}) AS r) TO STDOUT "  # noqa: S608
                "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
            )
        sink = _JsonArray(target) if fmt == "json" else target
        cursor.copy_expert(copy, sink)
        if isinstance(sink, _JsonArray):
            sink.close()
        count = int(cursor.rowcount)
    target.flush()
    return count


def export_assets(
    session: Session,
    caller: Principal,
    out: TextIO,
    fmt: str,
    filters: Filters,
    sort: Sort,
    *,
    safe_csv: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every asset matching `filters` to `out` in `fmt`; return how many."""
    require(caller, Permission.READ)
    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(
            f"export format {fmt!r} is not supported", hint="use csv, json or jsonl"
        )
    if safe_csv and fmt != "csv":
        raise InvalidInputError("--safe-csv only applies to CSV output", hint="use -o csv")
    # COPY writes the data as stored; a terminal gets the writers' escaped form instead.
    if session.get_bind().dialect.name == "postgresql" and not out.isatty():
        count = _copy(session, out, fmt, filters, sort, safe_csv)
    else:
        count = _write_rows(out, fmt, _records(session, filters, sort), safe_csv, progress)
    out.flush()
    return count
