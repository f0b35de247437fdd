"""`assetctl db upgrade | current`: schema migrations."""

from __future__ import annotations

import typer

from assetctl.cli.state import get_state

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Migrate the database to the schema this assetctl needs."""
    from assetctl.db.engine import describe_target
    from assetctl.db.migrate import upgrade as run_upgrade

    state = get_state(ctx)
    url = state.factory.settings.database_url
    before, after = run_upgrade(url, state.factory.settings.values.get("db_role_prefix"))
    if before == after:
        state.io.info(f"Database already at {after}: {describe_target(url)}")
    else:
        state.io.info(f"Migrated {describe_target(url)} from {before or 'empty'} to {after}.")


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the schema revision of the database ("none" if never migrated)."""
    from assetctl.db.migrate import is_known, revision, unknown_revision
    from assetctl.db.schema_version import HEAD_REVISION

    state = get_state(ctx)
    rev = revision(state.factory.settings.database_url)
    print(rev or "none", file=state.io.out)
    if rev is not None and not is_known(rev):
        state.io.info(f"note: {unknown_revision(rev).message}; upgrade assetctl")
    elif rev != HEAD_REVISION:
        state.io.info(f"this assetctl needs {HEAD_REVISION}; run `assetctl db upgrade`")
