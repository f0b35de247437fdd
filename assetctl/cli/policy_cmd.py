"""`assetctl policy ...`: the security policy kept in the database (admin only)."""

from __future__ import annotations

from typing import Annotated

import typer

from assetctl.cli.render import Output, render_list, render_record, resolve_format
from assetctl.cli.state import Effect, get_state

app = typer.Typer(
    help="Security policy kept in the database: lockout, token lifetime, alert channels "
    "(admin only).",
    no_args_is_help=True,
)

FIELDS = ("key", "value", "source", "default", "updated_at", "updated_by", "help")
COLUMNS = ("key", "value", "source", "help")


@app.command()
def show(ctx: typer.Context, output: Output = None) -> None:
    """Show every policy key, its value (credentials masked) and where it comes from."""
    from assetctl.core.security.policy import show_policy

    state = get_state(ctx)
    rows = state.run(Effect.READ, show_policy)
    render_list(state, resolve_format(state, output), rows, columns=COLUMNS, fields=FIELDS)


# `policy set lockout_duration -1d` must reach the value check (exit 2 naming key and
# value), not be taken for an unknown option.
@app.command("set", context_settings={"ignore_unknown_options": True})
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="A policy key (see `assetctl policy show`).")],
    value: Annotated[str, typer.Argument(help="Its new value, e.g. 5, 15m, 8h, on, a URL.")],
    output: Output = None,
) -> None:
    """Set one policy value; it applies to every login from now on."""
    from assetctl.core.security.policy import set_policy

    state = get_state(ctx)
    record = state.run(Effect.RECORD, set_policy, key, value)
    state.io.info(f"policy {record['key']} is now {record['value']}.")
    render_record(state, resolve_format(state, output), record, fields=("key", "value"))
