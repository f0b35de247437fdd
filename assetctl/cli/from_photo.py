"""`asset add --from-photo PHOTO`: show what the photo gave and have it confirmed.

On a terminal each proposal is asked for with the proposal as the default (Enter takes it,
typing replaces it, `-` leaves an optional field empty), and a required field nothing was read
for is asked without a default. `--yes` takes the proposals as read and lists them on stderr.
Options given on the command line always win and are not asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import typer

from assetctl.cli.state import AppState, Effect
from assetctl.core.assets.schema import REQUIRED
from assetctl.errors import InvalidInputError

LEAVE_EMPTY = "-"


def fields_from_photo(
    state: AppState, photo: str, given: Mapping[str, str | None], *, yes: bool
) -> dict[str, str | None]:
    """The raw field values for `asset add`: `given` (the options), completed from what the
    photo gave, each proposal confirmed on the terminal unless `yes`."""
    from assetctl.core.describe.proposal import PROPOSABLE, check_may_add, propose_from_photo

    if not yes and not sys.stdin.isatty():
        raise InvalidInputError(
            "--from-photo asks to confirm what it read, and there is no terminal to ask on",
            hint="pass --yes to take the proposals as read, or give the values as options "
            "(options always win over proposals)",
        )
    state.run(Effect.READ, check_may_add)
    proposal = propose_from_photo(state.factory.settings, photo)
    for warning in proposal.warnings:
        state.io.warn(warning)
    if proposal.text:
        state.io.info(f"Read from {photo} by {proposal.reader}:")
        for line in proposal.text:
            state.io.info(f"  {line}")
    else:
        state.io.info(f"No text was read from {photo} (by {proposal.reader}).")
    values = dict(given)
    for name in PROPOSABLE:
        if values.get(name) is not None:
            continue
        proposed = proposal.fields.get(name)
        if yes:
            if proposed is not None:
                values[name] = proposed.value
                state.io.info(f"Proposed {name}: {proposed.value} (from {proposed.source})")
        elif proposed is not None or name in REQUIRED:
            values[name] = _ask(name, proposed.value if proposed else None, proposed_by=(
                proposed.source if proposed else None
            ))  # fmt: skip
    return values


def _ask(name: str, default: str | None, *, proposed_by: str | None) -> str | None:
    """One field on the terminal; None means "leave it empty"."""
    required = name in REQUIRED
    label = name if proposed_by is None else f"{name} (read by {proposed_by})"
    if not required:
        label += f", {LEAVE_EMPTY} for none"
    while True:
        answer: str = typer.prompt(label, default=default, err=True)
        answer = answer.strip()
        if answer == LEAVE_EMPTY:
            if required:
                typer.echo(f"{name} is required.", err=True)
                continue
            return None
        if answer:
            return answer
