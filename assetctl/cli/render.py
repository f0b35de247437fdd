"""Rendering of records for people and scripts.

`table` is a Rich table (the default on a terminal); without `-o`, a non-terminal stdout gets
`plain`: the table's columns, tab-separated, no header, one row per line (like `gh`).
`json`, `jsonl`, `csv` and `tsv` carry every field under its stable name. Lists are streamed:
rows are written as they come, so `--all` keeps memory bounded in every format but `table`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from assetctl.cli.state import AppState
from assetctl.json_values import json_value, rfc3339


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


# The `-o/--output` option every data-printing command takes.
Output = Annotated[
    OutputFormat | None,
    typer.Option("-o", "--output", help="table, json, jsonl, csv or tsv.", case_sensitive=False),
]


def resolve_format(state: AppState, requested: OutputFormat | None) -> str:
    if requested is not None:
        return requested.value
    return "table" if state.io.out.isatty() else "plain"


def _json_default(value: Any) -> Any:
    converted = json_value(value)
    if converted is value:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")
    return converted


def dumps(data: Any, *, indent: int | None = None) -> str:
    import json

    return json.dumps(data, default=_json_default, indent=indent, ensure_ascii=False)


def text_value(value: Any) -> str:
    """A cell for plain/tsv/csv/table output."""
    from decimal import Decimal

    if value is None:
        return ""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return dumps(value)
    return str(value)


def _tsv_cell(value: Any) -> str:
    # Keep one record per line whatever the data holds.
    return (
        text_value(value)
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _styled(column: str, value: str) -> str:
    if column != "status":
        return value
    colour = {
        "in_stock": "green",
        "assigned": "cyan",
        "in_repair": "yellow",
        "retired": "dim",
        "lost": "red",
    }.get(value)
    return f"[{colour}]{value}[/]" if colour else value


def _console(state: AppState) -> Any:
    from rich.console import Console

    return Console(file=state.io.out, no_color=not state.io.color, highlight=False, soft_wrap=False)


def render_list(
    state: AppState,
    fmt: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Sequence[str],
    fields: Sequence[str],
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Write rows in `fmt`; `columns` are the human view, `fields` the full record.

    `extra` adds top-level keys to the `json` form (e.g. `next_cursor`), which is then an
    object `{"items": [...], ...}`. Returns how many rows were written.
    """
    out = state.io.out
    count = 0
    if fmt == "json":
        out.write('{"items": [' if extra is not None else "[")
        for row in rows:
            out.write(("," if count else "") + "\n  " + dumps({f: row[f] for f in fields}))
            count += 1
        out.write("\n]" if count else "]")
        if extra is not None:
            for key, value in extra.items():
                out.write(f", {dumps(key)}: {dumps(value)}")
            out.write("}")
        out.write("\n")
    elif fmt == "jsonl":
        for row in rows:
            out.write(dumps({f: row[f] for f in fields}) + "\n")
            count += 1
    elif fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(fields)
        for row in rows:
            writer.writerow([text_value(row[f]) for f in fields])
            count += 1
    elif fmt in ("tsv", "plain"):
        names = fields if fmt == "tsv" else columns
        if fmt == "tsv":
            out.write("\t".join(names) + "\n")
        for row in rows:
            out.write("\t".join(_tsv_cell(row[c]) for c in names) + "\n")
            count += 1
    else:
        from rich.markup import escape
        from rich.table import Table

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in columns:
            table.add_column(column.upper().replace("_", " "), overflow="fold")
        for row in rows:
            table.add_row(*(_styled(c, escape(text_value(row[c]))) for c in columns))
            count += 1
        if count:
            _console(state).print(table)
    out.flush()
    return count


def render_record(
    state: AppState, fmt: str, record: Mapping[str, Any], *, fields: Sequence[str]
) -> None:
    """One object: a vertical field/value view for people, the full record for scripts."""
    if fmt in ("table", "plain"):
        if fmt == "plain":
            for f in fields:
                state.io.out.write(f"{f}\t{_tsv_cell(record[f])}\n")
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for f in fields:
            table.add_row(f, _styled(f, escape(text_value(record[f]))))
        _console(state).print(table)
    elif fmt == "json":
        state.io.out.write(dumps({f: record[f] for f in fields}, indent=2) + "\n")
    else:
        render_list(state, fmt, [record], columns=fields, fields=fields)
