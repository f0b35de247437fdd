"""A progress bar on stderr for long commands (import, batches), only where a person watches:
stderr is a terminal and -q was not given. Elsewhere it is a no-op."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from assetctl.cli.state import AppState


@contextmanager
def progress(
    state: AppState, total: int | None, what: str, *, bytes_: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yields `update(done)`; `done` counts bytes (`bytes_`) or items."""
    if state.io.quiet or not state.io.err.isatty():
        yield lambda _done: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(
        file=state.io.err, no_color=state.io.no_color or "NO_COLOR" in state.factory.env
    )
    count = DownloadColumn() if bytes_ else MofNCompleteColumn()
    with Progress(
        TextColumn(what), BarColumn(), count, TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task(what, total=total)
        yield lambda done: bar.update(task, completed=done)
