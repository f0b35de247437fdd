"""`assetctl asset ...`: parse flags, call one core function in one transaction, render."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assetctl.cli.asset_batch import (
    ContinueOnError,
    FromFile,
    Refs,
    is_batch,
    load_items,
    run_batch_command,
)
from assetctl.cli.field_options import SearchFilter, SortOption, field_options, filter_options
from assetctl.cli.render import Output, OutputFormat, render_list, render_record, resolve_format
from assetctl.cli.state import AppState, Effect, get_state
from assetctl.core.assets.schema import ADD_FIELDS, LIST_COLUMNS, REQUIRED, UPDATE_FIELDS
from assetctl.errors import ExitStatus, InvalidInputError

if TYPE_CHECKING:
    from assetctl.core.assets.commands import Change
    from assetctl.core.assets.listing import Page

app = typer.Typer(help="Add, find, change and retire assets.", no_args_is_help=True)

REQUIRED_NOTE = "[required unless --from-photo reads it]"
HISTORY_FIELDS = ("id", "asset_id", "tag", "at", "actor", "action", "changes")
HISTORY_COLUMNS = ("at", "actor", "action", "summary")

NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Ask the database even if Redis has the answer.")
]
Ref = Annotated[
    str,
    typer.Argument(
        metavar="REF", help="Asset tag; id:N is always the id N; a bare N is the id if no tag is N."
    ),
]


def _opt(help_text: str) -> Any:
    return typer.Option(help=help_text)


def _show(state: AppState, output: OutputFormat | None, record: dict[str, Any]) -> None:
    from assetctl.core.assets.schema import ASSET_FIELDS

    render_record(state, resolve_format(state, output), record, fields=ASSET_FIELDS)


def _report_change(state: AppState, output: OutputFormat | None, change: Change, done: str) -> None:
    asset = change.asset
    target = f" to {asset['assignee']}" if done == "Assigned" else ""
    state.io.info(
        f"{done} asset {asset['tag']}{target}."
        if change.changed
        else f"Asset {asset['tag']} unchanged."
    )
    _show(state, output, change.asset)


# The cache codec is imported only when a cache is used (see cli/read_through.py).
def _encode_record(record: dict[str, Any]) -> dict[str, Any]:
    from assetctl.cache import encode_record

    return encode_record(record)


def _decode_record(value: dict[str, Any]) -> dict[str, Any]:
    from assetctl.cache import decode_record

    return decode_record(value)


def _encode_page(page: Page) -> dict[str, Any]:
    from assetctl.cache import encode_record

    return {"rows": [encode_record(row) for row in page.rows], "next_cursor": page.next_cursor}


def _decode_page(value: dict[str, Any]) -> Page:
    from assetctl.cache import decode_record
    from assetctl.core.assets.listing import Page

    cursor = value["next_cursor"]
    if cursor is not None and not isinstance(cursor, str):
        raise TypeError("bad cursor in cached page")
    return Page([decode_record(row) for row in value["rows"]], cursor)


@app.command()
@field_options(ADD_FIELDS, required=REQUIRED, required_note=REQUIRED_NOTE)
def add(
    ctx: typer.Context,
    from_photo: Annotated[
        str | None,
        typer.Option(
            "--from-photo",
            metavar="PHOTO",
            help="Propose tag, serial, model, ... from the text on a label photo (the `ocr` "
            "extra), shown for confirmation; options given win. The photo is not stored.",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Take what --from-photo read without asking.")
    ] = False,
    output: Output = None,
    **values: str | None,
) -> None:
    """Add an asset to the inventory."""
    from assetctl.core.assets.commands import add_asset
    from assetctl.core.assets.fields import parse_fields

    state = get_state(ctx)
    if from_photo is not None:
        from assetctl.cli.from_photo import fields_from_photo

        values = fields_from_photo(state, from_photo, values, yes=yes)
    elif yes:
        raise InvalidInputError("--yes only applies to --from-photo")
    missing = [f"--{name}" for name in REQUIRED if values.get(name) is None]
    if missing:
        read = " (not read from the photo)" if from_photo is not None else ""
        raise InvalidInputError(
            f"missing {', '.join(missing)}{read}", hint=f"add {' '.join(missing)} to the command"
        )
    record = state.run(Effect.DATA, add_asset, parse_fields(values))
    state.io.info(f"Added asset {record['tag']} (id {record['id']}).")
    _show(state, output, record)


@app.command()
def show(
    ctx: typer.Context,
    ref: Ref,
    deleted: Annotated[bool, typer.Option("--deleted", help="Look among deleted assets.")] = False,
    no_cache: NoCache = False,
    output: Output = None,
) -> None:
    """Show one asset."""
    from assetctl.cli.read_through import cached_read
    from assetctl.core.assets.commands import get_asset

    state = get_state(ctx)
    state.factory.no_cache = no_cache
    record = cached_read(
        state,
        "show",
        {"ref": ref, "deleted": deleted},
        get_asset,
        ref,
        deleted=deleted,
        encode=_encode_record,
        decode=_decode_record,
    )
    _show(state, output, record)


@app.command("list")
@filter_options
def list_(
    ctx: typer.Context,
    search: SearchFilter = None,
    sort: SortOption = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Rows per page (default 50).")
    ] = None,
    cursor: Annotated[str | None, _opt("Continue after the page that printed this cursor.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every matching row, streamed.")] = False,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="List deleted assets instead.")
    ] = False,
    no_cache: NoCache = False,
    output: Output = None,
    **exact: str | None,
) -> None:
    """List assets, one page at a time (or --all)."""
    from dataclasses import asdict

    from assetctl.cli.read_through import cached_read
    from assetctl.core.assets.commands import iter_assets, list_assets
    from assetctl.core.assets.listing import Sort, make_filters
    from assetctl.core.assets.schema import ASSET_FIELDS

    state = get_state(ctx)
    if all_ and limit is not None:
        raise InvalidInputError("--all and --limit cannot be used together")
    filters = make_filters(exact, search=search, deleted=deleted)
    order = Sort.parse(sort)
    fmt = resolve_format(state, output)
    if all_:
        # The same JSON shape as a page (scripts read `.items`), with nothing after it.
        extra_all = {"next_cursor": None} if fmt == "json" else None
        with state.reading() as (session, caller):
            rows = iter_assets(session, caller, filters, order, cursor)
            render_list(
                state, fmt, rows, columns=LIST_COLUMNS, fields=ASSET_FIELDS, extra=extra_all
            )
        return
    state.factory.no_cache = no_cache
    size = limit or state.factory.settings.list_limit
    page = cached_read(
        state,
        "list",
        {"filters": asdict(filters), "sort": str(order), "limit": size, "cursor": cursor},
        list_assets,
        filters,
        order,
        size,
        cursor,
        encode=_encode_page,
        decode=_decode_page,
    )
    extra = {"next_cursor": page.next_cursor} if fmt == "json" else None
    count = render_list(
        state, fmt, page.rows, columns=LIST_COLUMNS, fields=ASSET_FIELDS, extra=extra
    )
    if count == 0 and fmt == "table":
        state.io.info("No assets match.")
    if page.next_cursor and fmt != "json":
        state.io.info(f"More results: add --cursor {page.next_cursor}")


@app.command()
@field_options(UPDATE_FIELDS)
def update(
    ctx: typer.Context,
    refs: Refs = None,
    if_version: Annotated[
        int | None,
        typer.Option(help="Fail with exit 6 unless the asset is still at this version."),
    ] = None,
    from_file: FromFile = None,
    continue_on_error: ContinueOnError = False,
    output: Output = None,
    **values: str | None,
) -> None:
    """Change fields of assets. An empty value ("") clears an optional field. With several
    REFs or --from, JSON Lines lines may set their own fields and if_version."""
    from assetctl.core.assets.commands import update_asset
    from assetctl.core.assets.fields import parse_fields

    state = get_state(ctx)
    fields = parse_fields(values, clearing=True)
    if is_batch(refs, from_file):
        if if_version is not None:
            raise InvalidInputError(
                "--if-version takes one asset", hint='give "if_version" per line with --from'
            )
        if from_file is None and not fields:
            raise InvalidInputError("nothing to update", hint="pass at least one --FIELD VALUE")
        given = {k: v for k, v in values.items() if v is not None}
        items = load_items("update", refs, from_file, given)
        run_batch_command(
            state, "update", items, continue_on_error=continue_on_error, output=output
        )
        return
    ref = _only(refs)
    change = state.run(Effect.DATA, update_asset, ref, fields, if_version=if_version)
    _report_change(state, output, change, "Updated")


@app.command()
def assign(
    ctx: typer.Context,
    refs: Refs = None,
    to: Annotated[str | None, typer.Option("--to", help="Person receiving the asset(s).")] = None,
    from_file: FromFile = None,
    continue_on_error: ContinueOnError = False,
    output: Output = None,
) -> None:
    """Assign assets to a person (status becomes `assigned`). JSON Lines lines given with
    --from may name their own person: {"ref": "LAP-1", "to": "a@example.com"}."""
    from assetctl.core.assets.commands import assign_asset
    from assetctl.core.assets.fields import PARSERS

    state = get_state(ctx)
    person = PARSERS["assignee"](to) if to is not None else None
    if is_batch(refs, from_file):
        items = load_items("assign", refs, from_file, {"to": to} if to is not None else {})
        run_batch_command(
            state, "assign", items, continue_on_error=continue_on_error, output=output
        )
        return
    if person is None:
        raise InvalidInputError("missing option '--to'", hint="pass --to PERSON")
    change = state.run(Effect.DATA, assign_asset, _only(refs), person)
    _report_change(state, output, change, "Assigned")


def _plain(
    ctx: typer.Context,
    operation: str,
    refs: list[str] | None,
    from_file: str | None,
    continue_on_error: bool,
    output: OutputFormat | None,
) -> None:
    """unassign/delete/restore: a batch, or the single-REF command as it always was."""
    from assetctl.core.assets.batch import OPERATIONS

    state = get_state(ctx)
    if is_batch(refs, from_file):
        items = load_items(operation, refs, from_file, {})
        run_batch_command(
            state, operation, items, continue_on_error=continue_on_error, output=output
        )
        return
    op = OPERATIONS[operation]
    assert op.step is not None  # every operation without fields has its single-REF step
    change = state.run(Effect.DATA, op.step, _only(refs))
    _report_change(state, output, change, op.done.capitalize())


def _only(refs: list[str] | None) -> str:
    assert refs is not None and len(refs) == 1  # checked by is_batch
    return refs[0]


@app.command()
def unassign(
    ctx: typer.Context,
    refs: Refs = None,
    from_file: FromFile = None,
    continue_on_error: ContinueOnError = False,
    output: Output = None,
) -> None:
    """Take assets back (status becomes `in_stock`)."""
    _plain(ctx, "unassign", refs, from_file, continue_on_error, output)


@app.command()
def delete(
    ctx: typer.Context,
    refs: Refs = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    from_file: FromFile = None,
    continue_on_error: ContinueOnError = False,
    output: Output = None,
) -> None:
    """Soft-delete assets (`asset restore` undoes it)."""
    what = refs[0] if refs and len(refs) == 1 and from_file is None else None
    if not yes:
        shown = repr(what) if what else "several assets"
        if not sys.stdin.isatty() or from_file == "-":
            raise InvalidInputError(
                f"refusing to delete {shown} without confirmation",
                hint="pass --yes when running without a terminal",
            )
        if not typer.confirm(f"Delete {what or 'these assets'}?", default=False, err=True):
            state = get_state(ctx)
            state.io.info("Cancelled; nothing was deleted.")
            state.explained_exit = True
            raise typer.Exit(int(ExitStatus.INTERRUPTED))
    _plain(ctx, "delete", refs, from_file, continue_on_error, output)


@app.command()
def restore(
    ctx: typer.Context,
    refs: Refs = None,
    from_file: FromFile = None,
    continue_on_error: ContinueOnError = False,
    output: Output = None,
) -> None:
    """Bring back deleted assets."""
    _plain(ctx, "restore", refs, from_file, continue_on_error, output)


def _summary(changes: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        return "-" if value is None else str(value)

    return "; ".join(f"{k}: {show(v['old'])} -> {show(v['new'])}" for k, v in changes.items())


@app.command()
def history(ctx: typer.Context, ref: Ref, output: Output = None) -> None:
    """Every change to an asset: who, when, and each field's old -> new value."""
    from assetctl.core.assets.commands import asset_history

    state = get_state(ctx)
    events = state.run(Effect.READ, asset_history, ref)
    rows = [{**event, "summary": _summary(event["changes"])} for event in events]
    render_list(
        state, resolve_format(state, output), rows, columns=HISTORY_COLUMNS, fields=HISTORY_FIELDS
    )
