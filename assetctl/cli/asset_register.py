"""`assetctl asset register --self | --facts FILE`: a machine registers itself, or a fleet
job registers many from facts files (ours or osquery's). Registered on the `asset` Typer
app by the lazy `asset` group (see `extends` in cli/main.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from assetctl.cli.asset_batch import ContinueOnError, raise_failures, stream_results
from assetctl.cli.render import Output, OutputFormat, render_record, resolve_format
from assetctl.cli.state import AppState, Effect, get_state
from assetctl.errors import AssetctlError, InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from assetctl.core.assets.batch import BatchOutcome, ItemResult
    from assetctl.core.assets.register import RegisterOptions
    from assetctl.core.facts.model import Machine


def register(
    ctx: typer.Context,
    self_: Annotated[
        bool, typer.Option("--self", help="Collect the facts of the machine this runs on.")
    ] = False,
    facts: Annotated[
        str | None,
        typer.Option(
            "--facts",
            metavar="FILE",
            help="Facts file: ours (--self --dry-run -o json) or osquery system_info JSON; "
            "JSON Lines for many machines; - reads stdin.",
        ),
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Tag of a new asset (one machine).")] = None,
    tag_prefix: Annotated[str, typer.Option(help="New assets are tagged PREFIX + serial.")] = "",
    category: Annotated[
        str | None, typer.Option(help="Category of new assets (default: from the chassis).")
    ] = None,
    serial: Annotated[
        str | None, typer.Option(help="Serial to use when the firmware's is missing (--self).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the facts and what would happen; write nothing.")
    ] = False,
    continue_on_error: ContinueOnError = False,
    output: Output = None,
) -> None:
    """Register machines: match an asset by serial, then hardware UUID (never by host name
    alone), update the facts that changed, or create a new asset. A second run on an
    unchanged machine writes nothing."""
    from assetctl.core.assets.register import RegisterOptions

    state = get_state(ctx)
    if self_ == (facts is not None):
        raise InvalidInputError("pass either --self or --facts FILE")
    if tag is not None and tag_prefix:
        raise InvalidInputError("--tag and --tag-prefix cannot be used together")
    options = RegisterOptions(
        tag=tag, tag_prefix=tag_prefix, category=category, dry_run=dry_run,
        continue_on_error=continue_on_error,
        identity_hint="pass --tag T and --serial S" if self_ else "add a serial to its facts",
    )  # fmt: skip
    if self_:
        _register_self(state, serial, options, output)
        return
    if serial is not None:
        raise InvalidInputError("--serial is for --self; put serials in the facts file")
    from assetctl.cli.inputs import read_lines
    from assetctl.core.facts.model import read_machines

    machines = read_machines("\n".join(read_lines(facts or "-")))
    outcome = stream_results(
        state, output, len(machines), "Registering", _runner(state, machines, options)
    )
    counts: dict[str, int] = {}
    for result in outcome.results:
        counts[result.result] = counts.get(result.result, 0) + 1
    summary = ", ".join(f"{n} {word}" for word, n in counts.items())
    state.io.info(f"{len(machines)} machines: {summary}." if machines else "No machines.")
    raise_failures(state, outcome)


def _runner(
    state: AppState, machines: list[Machine], options: RegisterOptions
) -> Callable[[Callable[[ItemResult], None]], BatchOutcome]:
    from assetctl.core.assets.register import register_machines

    effect = Effect.RECORD if options.dry_run else Effect.DATA

    def run(on_result: Callable[[ItemResult], None]) -> BatchOutcome:
        return state.run(effect, register_machines, machines, options, on_result)

    return run


def _register_self(
    state: AppState, serial: str | None, options: RegisterOptions, output: OutputFormat | None
) -> None:
    from assetctl.core.assets.batch import BatchFailed
    from assetctl.core.assets.schema import ASSET_FIELDS
    from assetctl.core.facts.collect import collect_local
    from assetctl.core.facts.model import FACT_KEYS, Machine

    facts = collect_local(serial=serial)
    fmt = resolve_format(state, output)
    if options.dry_run:  # the facts first: they are the answer even when they cannot register
        render_record(state, fmt, facts.as_dict(), fields=FACT_KEYS)
    try:
        outcome = _runner(state, [Machine(1, facts)], options)(lambda _result: None)
    except BatchFailed as exc:
        failure = exc.outcome.failures[0]  # one machine: its own error says it best
        error = AssetctlError(failure.message or "registration failed", hint=failure.hint)
        error.exit_status, error.kind = exc.exit_status, "register_failed"
        raise error from None
    result = outcome.results[0]
    if not result.ok:
        raise_failures(state, outcome)
    tag = (result.asset or {}).get("tag")
    messages = {
        "created": f"Registered this machine as new asset {tag}.",
        "updated": f"Updated asset {tag} with this machine's facts.",
        "unchanged": f"Asset {tag} already has this machine's facts; nothing was written.",
        "would create": f"Would register this machine as new asset {tag} (--dry-run).",
        "would update": f"Would update asset {tag} (--dry-run).",
    }
    state.io.info(messages[result.result])
    if not options.dry_run and result.asset is not None:
        render_record(state, fmt, result.asset, fields=ASSET_FIELDS)


def _register() -> None:
    from assetctl.cli import asset

    asset.app.command("register")(register)


_register()
