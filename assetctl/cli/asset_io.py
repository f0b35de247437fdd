"""`assetctl asset import` and `assetctl asset export`: bulk moves of the inventory.

Registered on the `asset` Typer app in `cli.main`. Import is one write transaction (all or
nothing); export streams rows to stdout inside one read transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from assetctl.cli.field_options import SearchFilter, SortOption, filter_options
from assetctl.cli.state import AppState, Effect, get_state
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from assetctl.core.bulk.importer import ImportResult
    from assetctl.core.bulk.reader import Problem


class ImportFormat(StrEnum):
    auto = "auto"
    csv = "csv"
    jsonl = "jsonl"
    snipeit = "snipeit"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


@contextmanager
def _progress(state: AppState, total: int | None, what: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal (and not -q); otherwise a no-op."""
    if state.io.quiet or not state.io.err.isatty():
        yield lambda _done: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(
        file=state.io.err, no_color=state.io.no_color or "NO_COLOR" in state.factory.env
    )
    columns = (TextColumn(what), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda done: bar.update(task, completed=done)


@contextmanager
def _open_input(path: str) -> Iterator[tuple[BinaryIO, int | None]]:
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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _problem_line(problem: Problem) -> str:
    where = f"line {problem.line}"
    if problem.column:
        where += f", column {problem.column}"
    if problem.value is not None:
        where += f", value {problem.value!r}"
    return f"  {where}: {problem.reason}"


def _report_problems(state: AppState, result: ImportResult) -> None:
    for problem in result.problems:
        state.io.say(_problem_line(problem))
    hidden = result.problem_count - len(result.problems)
    if hidden > 0:
        state.io.say(f"  ... and {hidden} more problems")


def _write_report(state: AppState, result: ImportResult) -> None:
    """The `-o json` report: one JSON object on one line (the JSON Lines writer's record)."""
    from assetctl.writers import View, make_writer

    report = result.as_dict()
    make_writer("jsonl", state.io.out, View(tuple(report))).record(report)


def import_assets(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="CSV or JSON Lines file; - reads stdin.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Update assets whose tag already exists.")
    ] = False,
    file_format: Annotated[
        ImportFormat,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="auto (by extension/content; Snipe-IT by its header), csv, jsonl, snipeit.",
        ),
    ] = ImportFormat.auto,
    ignore_unknown: Annotated[
        bool, typer.Option("--ignore-unknown", help="Skip columns that are not asset fields.")
    ] = False,
    output: Annotated[
        ReportFormat | None,
        typer.Option("-o", "--output", case_sensitive=False, help="text or json report."),
    ] = None,
) -> None:
    """Import assets from CSV or JSON Lines: every row is checked first, and if any row is
    bad nothing is written and every problem is listed (exit 2; 6 if all are conflicts).

    Columns are the asset JSON field names (an `asset export` CSV or JSON Lines file
    imports as is; id, version, created_at, updated_at, created_by, updated_by and
    deleted_at are ignored; export -o json arrays are not read, use -o jsonl). A Snipe-IT
    asset CSV is recognised by its header. An empty cell leaves a field unset; with
    --update it clears it, and columns missing from the file are left unchanged."""
    from assetctl.core.bulk.importer import ImportOptions, ImportRejected
    from assetctl.core.bulk.importer import import_assets as run_import

    state = get_state(ctx)
    options = ImportOptions(
        format=file_format.value,
        update=update,
        dry_run=dry_run,
        ignore_unknown=ignore_unknown,
    )
    as_json = output == ReportFormat.json
    rejected: ImportRejected | None = None
    with _open_input(file) as (stream, size), _progress(state, size, "Importing") as progress:
        try:
            result = state.run(
                Effect.RECORD if dry_run else Effect.DATA,
                run_import,
                stream,
                file,
                options,
                progress,
            )
        except ImportRejected as exc:
            rejected = exc  # reported once the progress bar is gone
    if rejected is not None:
        _report_problems(state, rejected.result)
        if as_json:
            _write_report(state, rejected.result)
        raise rejected
    if result.ignored_columns:
        state.io.info(f"Ignored columns: {', '.join(result.ignored_columns)}.")
    if as_json:
        _write_report(state, result)
    verb = "Would import" if dry_run else "Imported"
    state.io.info(
        f"{verb} {_count(result.rows, 'row')} ({result.format}): {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged."
        + (" Nothing was written (--dry-run)." if dry_run else "")
    )


@filter_options
def export_assets(
    ctx: typer.Context,
    search: SearchFilter = None,
    sort: SortOption = None,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="Export deleted assets instead.")
    ] = False,
    output: Annotated[
        ExportFormat,
        typer.Option("-o", "--output", case_sensitive=False, help="csv (default), json, jsonl."),
    ] = ExportFormat.csv,
    safe_csv: Annotated[
        bool,
        typer.Option(
            "--safe-csv",
            help="Prefix cells starting with = + - @ (tab, CR) with ' so spreadsheets do not "
            "run them as formulas. Such a file is for people, not for re-import.",
        ),
    ] = False,
    **exact: str | None,
) -> None:
    """Export every matching asset to stdout (streamed, constant memory). The columns are
    the asset JSON field names, so the file can be fed back to `asset import`."""
    from assetctl.core.assets.listing import Sort, make_filters
    from assetctl.core.bulk.export import export_assets as run_export

    state = get_state(ctx)
    filters = make_filters(exact, search=search, deleted=deleted)
    order = Sort.parse(sort)
    with state.reading() as (session, caller):
        count = run_export(
            session, caller, state.io.out, output.value, filters, order, safe_csv=safe_csv
        )
    state.io.info(f"Exported {_count(count, 'asset')}.")


def _register() -> None:
    from assetctl.cli import asset

    asset.app.command("import")(import_assets)
    asset.app.command("export")(export_assets)


# Imported by the lazy `asset` group (see `extends` in cli/main.py) to add these commands.
_register()
