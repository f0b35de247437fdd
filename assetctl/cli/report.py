"""`assetctl report ...`: reports for cron and CI. Every report prints rows through the
writer registry (`-o table|json|jsonl|csv|...`), and `--fail-if-any` exits 1 when there are
rows, so a cron job or a CI step can act on "something needs attention"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from assetctl.cli.render import Output, OutputFormat, render_list, resolve_format
from assetctl.cli.state import AppState, Effect, get_state
from assetctl.errors import InvalidInputError

app = typer.Typer(help="Reports for people, cron and CI.", no_args_is_help=True)

FailIfAny = Annotated[
    bool,
    typer.Option("--fail-if-any", help="Exit 1 when the report has rows (for cron and CI)."),
]
# Exit status of `--fail-if-any` when the report has rows: not an error, a finding.
FOUND = 1


def _render(
    state: AppState,
    output: OutputFormat | None,
    rows: Sequence[dict[str, Any]],
    fields: Sequence[str],
    *,
    fail_if_any: bool,
    empty: str,
) -> None:
    fmt = resolve_format(state, output)
    render_list(state, fmt, rows, columns=fields, fields=fields)
    if not rows:
        state.io.info(empty)
    elif fail_if_any:
        state.io.info(f"{len(rows)} row{'s' if len(rows) != 1 else ''} found (--fail-if-any).")
        state.explained_exit = True
        raise typer.Exit(FOUND)


def _duration(option: str) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        from assetctl.durations import EXAMPLES, parse_duration

        try:
            return parse_duration(raw)
        except ValueError:
            raise InvalidInputError(
                f"{option} {raw!r} is not a duration", hint=f"use a positive span, {EXAMPLES}"
            ) from None

    return parse


@app.command()
def warranty(
    ctx: typer.Context,
    within: Annotated[
        str, typer.Option("--within", help="Window from today: 30d, 12w, 6m, 1y (default 30d).")
    ] = "30d",
    fail_if_any: FailIfAny = False,
    output: Output = None,
) -> None:
    """Assets in service whose warranty ends within the window or has already ended."""
    from assetctl.core.assets.reports import WARRANTY_FIELDS, warranty_report

    state = get_state(ctx)
    span = _duration("--within")(within)
    rows = state.run(Effect.READ, warranty_report, span)
    _render(
        state, output, rows, WARRANTY_FIELDS, fail_if_any=fail_if_any,
        empty=f"No warranty ends within {within.strip()}.",
    )  # fmt: skip


@app.command()
def summary(ctx: typer.Context, fail_if_any: FailIfAny = False, output: Output = None) -> None:
    """Counts by status, category and location; total and average purchase cost."""
    from assetctl.core.assets.reports import SUMMARY_FIELDS, summary_report

    state = get_state(ctx)
    rows = state.run(Effect.READ, summary_report)
    _render(state, output, rows, SUMMARY_FIELDS, fail_if_any=fail_if_any, empty="No assets.")


@app.command()
def assignments(
    ctx: typer.Context,
    person: Annotated[str, typer.Option("--person", help="Whose assets to list.")],
    fail_if_any: FailIfAny = False,
    output: Output = None,
) -> None:
    """What one person holds."""
    from assetctl.core.assets.fields import PARSERS
    from assetctl.core.assets.reports import ASSIGNMENT_FIELDS, assignments_report

    state = get_state(ctx)
    rows = state.run(Effect.READ, assignments_report, PARSERS["assignee"](person))
    _render(
        state, output, rows, ASSIGNMENT_FIELDS, fail_if_any=fail_if_any,
        empty=f"{person.strip()} holds no assets.",
    )  # fmt: skip


@app.command()
def unaudited(
    ctx: typer.Context,
    not_audited_for: Annotated[
        str,
        typer.Option(
            "--not-audited-for",
            metavar="DURATION",
            help="Assets no audit found within this span: 90d, 6m, 1y (default 1y).",
        ),
    ] = "1y",
    location: Annotated[
        str | None, typer.Option("--location", help="Only assets at this location.")
    ] = None,
    fail_if_any: FailIfAny = False,
    output: Output = None,
) -> None:
    """Assets not found by any audit within the span (never audited ones first)."""
    from assetctl.core.assets.fields import PARSERS
    from assetctl.core.assets.reports import UNAUDITED_FIELDS, unaudited_report

    state = get_state(ctx)
    span = _duration("--not-audited-for")(not_audited_for)
    where = PARSERS["location"](location) if location is not None else None
    rows = state.run(Effect.READ, unaudited_report, span, where)
    _render(
        state, output, rows, UNAUDITED_FIELDS, fail_if_any=fail_if_any,
        empty=f"Every asset was audited within {not_audited_for.strip()}.",
    )  # fmt: skip
