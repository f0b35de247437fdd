"""The batch form of `asset update|assign|unassign|delete|restore`: several REFs, or
`--from FILE|-`. Parses the items, runs them through the core batch engine in one
transaction, streams one result per item through the writer registry, and lists every
failure on stderr."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from assetctl.cli.render import OutputFormat, resolve_format
from assetctl.cli.state import AppState, Effect
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from assetctl.core.assets.batch import BatchOutcome, ItemResult
    from assetctl.core.assets.batch_input import Item

Refs = Annotated[
    list[str] | None,
    typer.Argument(
        help="Asset tags or ids (id:N forces the id); several act on each.",
        metavar="REF...",
        show_default=False,
    ),
]
FromFile = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="FILE",
        help='One REF per line, or JSON Lines {"ref": ..., ...}; - reads stdin.',
    ),
]
ContinueOnError = Annotated[
    bool,
    typer.Option(
        "--continue-on-error",
        help="Save the items that succeed and report the rest (default: all or nothing).",
    ),
]


def is_batch(refs: Sequence[str] | None, from_file: str | None) -> bool:
    """Whether the command acts on many assets (else the single-REF form, unchanged)."""
    if from_file is not None:
        if refs:
            raise InvalidInputError("give REFs or --from FILE, not both")
        return True
    if not refs:
        raise InvalidInputError("no asset given", hint="pass a REF (tag or id) or --from FILE")
    return len(refs) > 1


def load_items(
    operation: str,
    refs: Sequence[str] | None,
    from_file: str | None,
    defaults: Mapping[str, str],
) -> list[Item]:
    """The batch's items from the REFs or the file; `defaults` are the command's options."""
    from assetctl.core.assets.batch import OPERATIONS
    from assetctl.core.assets.batch_input import items_from_lines, items_from_refs

    if from_file is None:
        return items_from_refs(refs or (), defaults)
    from assetctl.cli.inputs import read_lines

    return items_from_lines(read_lines(from_file), OPERATIONS[operation].keys, defaults)


def run_batch_command(
    state: AppState,
    operation: str,
    items: Sequence[Item],
    *,
    continue_on_error: bool,
    output: OutputFormat | None,
) -> None:
    """Run the batch and render it; raise BatchFailed (its exit status the most severe
    failure) when an item failed."""
    from assetctl.core.assets.batch import OPERATIONS, run_batch

    def run(on_result: Callable[[ItemResult], None]) -> BatchOutcome:
        return state.run(
            Effect.DATA,
            run_batch,
            operation,
            items,
            continue_on_error=continue_on_error,
            on_result=on_result,
        )

    outcome = stream_results(state, output, len(items), operation.capitalize(), run)
    done = [r for r in outcome.results if r.ok]
    changed = sum(1 for r in done if r.result != "unchanged")
    state.io.info(
        f"{OPERATIONS[operation].done.capitalize()} {changed} of {len(items)} "
        f"asset{'s' if len(items) != 1 else ''}; {len(done) - changed} unchanged."
    )
    raise_failures(state, outcome)


def stream_results(
    state: AppState,
    output: OutputFormat | None,
    total: int,
    what: str,
    run: Callable[[Callable[[ItemResult], None]], BatchOutcome],
) -> BatchOutcome:
    """Call `run(on_result)` under a progress bar, then write one result per item (one
    writer for the whole batch). Results are written once the transaction has ended, so
    a script never reads "assigned" for a change that was rolled back: in a rejected
    batch the items that would have worked say "not written". A rejected batch's failures
    are listed on stderr and its BatchFailed raised."""
    from assetctl.cli.progress import progress
    from assetctl.core.assets.batch import BatchFailed

    done = 0
    with progress(state, total, what, bytes_=False) as advance:

        def on_result(_result: ItemResult) -> None:
            nonlocal done
            done += 1
            advance(done)

        rejected: BatchFailed | None = None
        try:
            outcome = run(on_result)
        except BatchFailed as exc:
            rejected = exc  # reported once the progress bar is gone
    if rejected is not None:
        _write_results(state, output, _unwritten(rejected.outcome.results))
        _list_failures(state, rejected.outcome.failures)
        raise rejected
    _write_results(state, output, outcome.results)
    return outcome


def _unwritten(results: Sequence[ItemResult]) -> list[ItemResult]:
    from dataclasses import replace

    note = "nothing was written: other items failed"
    return [r if not r.ok else replace(r, result="not written", message=note, asset=None)
            for r in results]  # fmt: skip


def _write_results(
    state: AppState, output: OutputFormat | None, results: Sequence[ItemResult]
) -> None:
    from assetctl.core.assets.batch import RESULT_COLUMNS, RESULT_FIELDS
    from assetctl.writers import View, make_writer

    view = View(RESULT_FIELDS, RESULT_COLUMNS, color=state.io.color)
    writer = make_writer(resolve_format(state, output), state.io.out, view)
    writer.begin()
    for result in results:
        writer.add(result.as_dict())
    writer.end()
    state.io.out.flush()


def raise_failures(state: AppState, outcome: BatchOutcome) -> None:
    """After a commit with --continue-on-error: list the failures and exit with the most
    severe."""
    from assetctl.core.assets.batch import BatchFailed

    if outcome.failures:
        _list_failures(state, outcome.failures)
        raise BatchFailed(outcome, committed=True)


def _list_failures(state: AppState, failures: Sequence[ItemResult]) -> None:
    for failure in failures:
        ref = f", {failure.ref}" if failure.ref is not None else ""
        print(
            f"  line {failure.line}{ref}: {failure.message} (exit {failure.code})",
            file=state.io.err,
        )
