"""`assetctl user ...`: user administration (admin only)."""

from __future__ import annotations

from typing import Annotated

import typer

from assetctl.cli.auth import USER_FIELDS
from assetctl.cli.render import Output, render_list, render_record, resolve_format
from assetctl.cli.state import Effect, get_state

app = typer.Typer(help="Manage users (admin only).", no_args_is_help=True)

EmailArg = Annotated[str, typer.Argument(help="The user's email.")]
LIST_COLUMNS = ("email", "name", "role", "active", "locked", "last_login_at")


@app.command("list")
def list_(ctx: typer.Context, output: Output = None) -> None:
    """List users."""
    from assetctl.core.auth.users import list_users

    state = get_state(ctx)
    rows = state.run(Effect.READ, list_users)
    render_list(
        state, resolve_format(state, output), rows, columns=LIST_COLUMNS, fields=USER_FIELDS
    )


@app.command("set-role")
def set_role(
    ctx: typer.Context,
    email: EmailArg,
    role: Annotated[str, typer.Argument(help="admin, operator or viewer.")],
    output: Output = None,
) -> None:
    """Change a user's role (applies to their next command)."""
    from assetctl.core.auth.users import set_role as change_role

    state = get_state(ctx)
    record = state.run(Effect.AUTH, change_role, email, role)
    state.io.info(f"{record['email']} is now {record['role']}.")
    render_record(state, resolve_format(state, output), record, fields=USER_FIELDS)


def _set_active(ctx: typer.Context, email: str, active: bool, output: Output) -> None:
    from assetctl.core.auth.users import set_active

    state = get_state(ctx)
    record = state.run(Effect.AUTH, set_active, email, active)
    state.io.info(f"{record['email']} is {'enabled' if active else 'disabled; sessions revoked'}.")
    render_record(state, resolve_format(state, output), record, fields=USER_FIELDS)


@app.command()
def disable(ctx: typer.Context, email: EmailArg, output: Output = None) -> None:
    """Disable a user and revoke all their sessions."""
    _set_active(ctx, email, False, output)


@app.command()
def enable(ctx: typer.Context, email: EmailArg, output: Output = None) -> None:
    """Re-enable a disabled user."""
    _set_active(ctx, email, True, output)


@app.command()
def unlock(ctx: typer.Context, email: EmailArg, output: Output = None) -> None:
    """Clear a lockout after too many failed logins."""
    from assetctl.core.auth.users import unlock as clear_lock

    state = get_state(ctx)
    record = state.run(Effect.AUTH, clear_lock, email)
    state.io.info(f"{record['email']} is unlocked.")
    render_record(state, resolve_format(state, output), record, fields=USER_FIELDS)


@app.command("add-login")
def add_login(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="An existing PostgreSQL login (a DBA creates it).")],
    role: Annotated[str, typer.Option("--role", help="admin, operator or viewer.")],
    user: Annotated[str, typer.Option("--user", help="Email of the user the login acts for.")],
    output: Output = None,
) -> None:
    """Grant a PostgreSQL login the group role of an assetctl user (PostgreSQL only)."""
    from assetctl.core.auth.logins import add_login as bind_login

    state = get_state(ctx)
    record = state.run(Effect.AUTH, bind_login, login, role, user)
    state.io.info(f"Login {record['login']} now acts for {record['email']} as {record['db_role']}.")
    render_record(
        state, resolve_format(state, output), record, fields=(*USER_FIELDS, "login", "db_role")
    )
