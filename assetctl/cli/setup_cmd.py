"""`assetctl init` and `assetctl doctor`: getting started and finding out what is wrong."""

from __future__ import annotations

import typer

from assetctl.cli.state import get_state
from assetctl.errors import ExitStatus
from assetctl.json_values import visible


def init(ctx: typer.Context) -> None:
    """Create the config file and the database (migrated), and say where they are."""
    from assetctl.core.ops.setup import initialise
    from assetctl.db.engine import describe_target

    state = get_state(ctx)
    settings = state.factory.settings
    result = initialise(settings)
    state.io.info(
        f"Config file: {settings.config_path}" + (" (created)" if result.config_created else "")
    )
    state.io.info(f"Database:    {describe_target(settings.database_url)}")
    schema = result.revision_after
    if result.revision_before != schema:
        schema += f" (migrated from {result.revision_before or 'empty'})"
    state.io.info(f"Schema:      {schema}")
    state.io.info("Next: assetctl asset add --tag LAP-0001 --name 'ThinkPad T14' --category laptop")


def doctor(ctx: typer.Context) -> None:
    """Check configuration, database and migrations; exit 0 only if everything passes."""
    from assetctl.core.ops.doctor import run_checks

    state = get_state(ctx)
    checks = run_checks(state.factory.settings)
    width = max(len(check.name) for check in checks)
    for check in checks:
        mark = (
            "skip" if check.skipped else "WARN" if check.warning else "ok  " if check.ok else "FAIL"
        )
        print(f"{mark} {check.name.ljust(width)}  {visible(check.detail)}", file=state.io.out)
        if check.warning:
            state.io.warn(check.detail)
    if not all(check.ok for check in checks):
        raise typer.Exit(int(ExitStatus.UNAVAILABLE))
