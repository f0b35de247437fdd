"""`assetctl asset import` and `assetctl asset export`: bulk moves of the inventory.

Registered on the `asset` Typer app in `cli.main`. Import is one write transaction (all or
nothing); export streams rows to stdout inside one read transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from assetctl.cli.field_options import SearchFilter, SortOption, filter_options
from assetctl.cli.inputs import open_input
from assetctl.cli.progress import progress
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


class MatchKey(StrEnum):
    tag = "tag"
    serial = "serial"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


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


def _snipeit_token(state: AppState) -> str:
    """The API token: ASSETCTL_SNIPEIT_TOKEN, else one line of stdin (never a flag: it
    would land in shell history and `ps`), else a hidden prompt on a terminal."""
    token = state.factory.env.get("ASSETCTL_SNIPEIT_TOKEN", "")
    if token.strip():
        return token.strip()
    if not sys.stdin.isatty():
        return sys.stdin.readline(16 * 1024).strip()
    return str(typer.prompt("Snipe-IT API token", hide_input=True, err=True)).strip()


@contextmanager
def _snipeit_file(state: AppState, url: str) -> Iterator[tuple[BinaryIO, int | None]]:
    """Every asset of the Snipe-IT at `url`, fetched into a temporary Snipe-IT CSV."""
    import io
    import tempfile

    from assetctl.core.bulk.snipeit_api import fetch_snipeit

    token = _snipeit_token(state)
    with tempfile.TemporaryFile() as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        count = state.run(Effect.READ, fetch_snipeit, url, token, text)
        text.detach()
        state.io.info(f"Fetched {_count(count, 'asset')} from Snipe-IT.")
        size = spool.tell()
        spool.seek(0)
        yield spool, size or None


def _summary(state: AppState, result: ImportResult) -> None:
    if result.noted_columns:
        state.io.info(f"Kept in notes: {', '.join(result.noted_columns)}.")
    if result.ignored_columns:
        by_reason: dict[str, list[str]] = {}
        for column, why in result.ignored_columns:
            by_reason.setdefault(why, []).append(column)
        groups = (f"{', '.join(columns)} ({why})" for why, columns in by_reason.items())
        state.io.info(f"Not kept: {'; '.join(groups)}.")


def import_assets(
    ctx: typer.Context,
    file: Annotated[
        str | None, typer.Argument(help="CSV or JSON Lines file; - reads stdin.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Update assets that already exist (see --match).")
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
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="'COLUMN=FIELD'",
            help="Read COLUMN as FIELD (repeatable); FIELD 'ignore' leaves it out.",
        ),
    ] = None,
    map_file: Annotated[
        str | None,
        typer.Option(
            "--map-file",
            metavar="FILE",
            help="A saved mapping (TOML: [columns], [statuses], date_format, "
            "decimal_comma, encoding, match); flags win over it.",
        ),
    ] = None,
    status_map: Annotated[
        list[str] | None,
        typer.Option(
            "--status-map",
            metavar="'LABEL=STATUS'",
            help="Read status label LABEL (e.g. a Snipe-IT one) as STATUS (repeatable).",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            metavar="FORMAT",
            help="How non-ISO dates are written, e.g. %m/%d/%y or %d.%m.%Y (default: ISO, "
            "or a guess only when every date of a column fits one form).",
        ),
    ] = None,
    decimal_comma: Annotated[
        bool,
        typer.Option("--decimal-comma", help="Costs are written 1.299,50 (comma decimal)."),
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            metavar="ENCODING",
            help="Text encoding, e.g. cp1252, latin-1, utf-16 (default: UTF-8, or as "
            "the byte-order mark says).",
        ),
    ] = None,
    match: Annotated[
        MatchKey | None,
        typer.Option("--match", help="Match rows to existing assets by tag (default) or serial."),
    ] = None,
    from_snipeit: Annotated[
        str | None,
        typer.Option(
            "--from-snipeit",
            metavar="URL",
            help="Import every asset of a running Snipe-IT over its API (token from "
            "ASSETCTL_SNIPEIT_TOKEN or stdin).",
        ),
    ] = None,
    output: Annotated[
        ReportFormat | None,
        typer.Option(
            "-o",
            "--output",
            case_sensitive=False,
            help="text or json report (json lists each row's action and every problem).",
        ),
    ] = None,
) -> None:
    """Import assets from CSV or JSON Lines: every row is checked first, and if any row is
    bad nothing is written and every problem is listed (exit 2; 6 if all are conflicts).

    Columns are the asset JSON field names (an `asset export` CSV or JSON Lines file
    imports as is; id, version, created_at, updated_at, created_by, updated_by and
    deleted_at are ignored; export -o json arrays are not read, use -o jsonl). A Snipe-IT
    asset CSV is recognised by its header; its columns with no assetctl field are kept in a
    labelled block of notes. An empty cell leaves a field unset; with --update it clears
    it, and columns missing from the file are left unchanged. A re-run of the same file
    with --update writes nothing."""
    from assetctl.core.bulk.importer import ImportOptions, ImportRejected
    from assetctl.core.bulk.importer import import_assets as run_import
    from assetctl.core.bulk.mapping import build

    state = get_state(ctx)
    if (file is None) == (from_snipeit is None):
        raise InvalidInputError(
            "give either a FILE to import or --from-snipeit URL",
            hint="e.g. assetctl asset import assets.csv",
        )
    recipe = build(
        file=map_file,
        columns=columns or (),
        statuses=status_map or (),
        date_format=date_format,
        decimal_comma=decimal_comma,
        encoding=encoding,
        match=match.value if match is not None else None,
    )
    as_json = output == ReportFormat.json
    options = ImportOptions(
        format="snipeit" if from_snipeit is not None else file_format.value,
        update=update,
        dry_run=dry_run,
        ignore_unknown=ignore_unknown,
        recipe=recipe,
        report_rows=as_json,
    )
    rejected: ImportRejected | None = None
    source = _snipeit_file(state, from_snipeit) if from_snipeit else open_input(file or "-")
    with source as (stream, size):
        name = file or "snipeit.csv"
        with progress(state, size, "Importing") as advance:
            try:
                result = state.run_changes(
                    Effect.RECORD if dry_run else Effect.DATA,
                    run_import,
                    stream,
                    name,
                    options,
                    advance,
                )
            except ImportRejected as exc:
                rejected = exc  # reported once the progress bar is gone
    if rejected is not None:
        _report_problems(state, rejected.result)
        if as_json:
            _write_report(state, rejected.result)
        raise rejected
    _summary(state, result)
    if as_json:
        _write_report(state, result)
    verb = "Would import" if dry_run else "Imported"
    if result.rows == 0:
        state.io.info(f"{verb} 0 rows ({result.format}): the file has none, nothing to import.")
        return
    state.io.info(
        f"{verb} {_count(result.rows, 'row')} ({result.format}): {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged."
        + (" Nothing was written (--dry-run)." if dry_run else "")
        + (" Nothing changed." if not dry_run and not result.wrote else "")
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
