"""`assetctl asset ...`: parse flags, call one core function in one transaction, render."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assetctl.cli.field_options import SearchFilter, SortOption, field_options, filter_options
from assetctl.cli.render import Output, OutputFormat, render_list, render_record, resolve_format
from assetctl.cli.state import AppState, Effect, get_state
from assetctl.core.assets.schema import ADD_FIELDS, LIST_COLUMNS, REQUIRED, UPDATE_FIELDS
from assetctl.errors import ExitStatus, InvalidInputError

if TYPE_CHECKING:
    from assetctl.core.assets.commands import Change
    from assetctl.core.assets.listing import Page

app = typer.Typer(help="Add, find, change and retire assets.", no_args_is_help=True)

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
@field_options(ADD_FIELDS, required=REQUIRED)
def add(ctx: typer.Context, output: Output = None, **values: str | None) -> None:
    """Add an asset to the inventory."""
    from assetctl.core.assets.commands import add_asset
    from assetctl.core.assets.fields import parse_fields

    state = get_state(ctx)
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
    from assetctl.cache import decode_record, encode_record
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
        encode=encode_record,
        decode=decode_record,
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
    ref: Ref,
    if_version: Annotated[
        int | None,
        typer.Option(help="Fail with exit 6 unless the asset is still at this version."),
    ] = None,
    output: Output = None,
    **values: str | None,
) -> None:
    """Change fields of an asset. An empty value ("") clears an optional field."""
    from assetctl.core.assets.commands import update_asset
    from assetctl.core.assets.fields import parse_fields

    state = get_state(ctx)
    fields = parse_fields(values, clearing=True)
    change = state.run(Effect.DATA, update_asset, ref, fields, if_version=if_version)
    _report_change(state, output, change, "Updated")


@app.command()
def assign(
    ctx: typer.Context,
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="Person receiving the asset.")],
    output: Output = None,
) -> None:
    """Assign an asset to a person (status becomes `assigned`)."""
    from assetctl.core.assets.commands import assign_asset
    from assetctl.core.assets.fields import PARSERS

    state = get_state(ctx)
    person = PARSERS["assignee"](to)
    change = state.run(Effect.DATA, assign_asset, ref, person)
    _report_change(state, output, change, "Assigned")


@app.command()
def unassign(ctx: typer.Context, ref: Ref, output: Output = None) -> None:
    """Take an asset back (status becomes `in_stock`)."""
    from assetctl.core.assets.commands import unassign_asset

    state = get_state(ctx)
    change = state.run(Effect.DATA, unassign_asset, ref)
    _report_change(state, output, change, "Unassigned")


@app.command()
def delete(
    ctx: typer.Context,
    ref: Ref,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    output: Output = None,
) -> None:
    """Soft-delete an asset (`asset restore` undoes it)."""
    from assetctl.core.assets.commands import delete_asset

    state = get_state(ctx)
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInputError(
                f"refusing to delete {ref!r} without confirmation",
                hint="pass --yes when running without a terminal",
            )
        if not typer.confirm(f"Delete asset {ref}?", default=False, err=True):
            state.io.info("Cancelled; nothing was deleted.")
            state.explained_exit = True
            raise typer.Exit(int(ExitStatus.INTERRUPTED))
    change = state.run(Effect.DATA, delete_asset, ref)
    _report_change(state, output, change, "Deleted")


@app.command()
def restore(ctx: typer.Context, ref: Ref, output: Output = None) -> None:
    """Bring back a deleted asset."""
    from assetctl.core.assets.commands import restore_asset

    state = get_state(ctx)
    change = state.run(Effect.DATA, restore_asset, ref)
    _report_change(state, output, change, "Restored")


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
