"""`assetctl config show | path`."""

from __future__ import annotations

import typer

from assetctl.cli.render import Output, render_list, resolve_format
from assetctl.cli.state import get_state

app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)


@app.command()
def show(
    ctx: typer.Context,
    output: Output = None,
) -> None:
    """Print every effective setting and where it came from (secrets masked)."""
    from assetctl.config_specs import SPECS

    state = get_state(ctx)
    settings = state.factory.settings
    rows = [
        {
            "key": key,
            "value": settings.display_value(key),
            "source": settings.sources[key],
            "env": spec.env_var,
        }
        for key, spec in SPECS.items()
    ]
    fields = ("key", "value", "source", "env")
    render_list(state, resolve_format(state, output), rows, columns=fields, fields=fields)
    state.io.info(
        f"profile: {settings.profile}; config file: {settings.config_path}"
        + ("" if settings.config_exists else " (not present)")
    )


@app.command()
def path(ctx: typer.Context) -> None:
    """Print the path of the config file in use."""
    state = get_state(ctx)
    print(state.factory.settings.config_path, file=state.io.out)
