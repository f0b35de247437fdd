"""Rendering of records for people and scripts, through the writer registry.

`table` is a Rich table (the default on a terminal); without `-o`, a non-terminal stdout gets
`plain`: the table's columns, tab-separated, no header, one row per line (like `gh`).
`json`, `jsonl`, `csv` and `tsv` carry every field under its stable name. Lists are streamed:
rows are written as they come, so `--all` keeps memory bounded in every format but `table`.
Each format is one class in `assetctl.writers` (the table in `assetctl.cli.table`); `-o`
offers whatever is registered there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assetctl.cli.state import AppState
from assetctl.cli.table import TableWriter
from assetctl.writers import PlainWriter, View, formats, make_writer

if TYPE_CHECKING:

    class OutputFormat(StrEnum):
        """Every listed writer's name (built at run time from the registry)."""

else:
    OutputFormat = StrEnum("OutputFormat", [(name, name) for name in formats()])


def _spoken(names: Sequence[str]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}."


# The `-o/--output` option every data-printing command takes.
Output = Annotated[
    OutputFormat | None,
    typer.Option("-o", "--output", help=_spoken(formats()), case_sensitive=False),
]


def resolve_format(state: AppState, requested: OutputFormat | None) -> str:
    if requested is not None:
        return requested.value
    return TableWriter.name if state.io.out.isatty() else PlainWriter.name


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
    view = View(fields, columns, extra, color=state.io.color)
    count = make_writer(fmt, state.io.out, view).write(rows)
    state.io.out.flush()
    return count


def render_record(
    state: AppState, fmt: str, record: Mapping[str, Any], *, fields: Sequence[str]
) -> None:
    """One object: a vertical field/value view for people, the full record for scripts."""
    make_writer(fmt, state.io.out, View(fields, color=state.io.color)).record(record)
    state.io.out.flush()
