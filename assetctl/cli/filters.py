"""The filter and sort options shared by `asset list` and `asset export`, so both accept
exactly the same selections."""

from __future__ import annotations

from typing import Annotated

import typer

StatusFilter = Annotated[str | None, typer.Option(help="Only this status.")]
CategoryFilter = Annotated[str | None, typer.Option(help="Only this category.")]
AssigneeFilter = Annotated[str | None, typer.Option(help="Only assets assigned to this person.")]
LocationFilter = Annotated[str | None, typer.Option(help="Only assets at this location.")]
SearchFilter = Annotated[
    str | None,
    typer.Option(help="Case-insensitive text in tag, name, serial, model or assignee."),
]
SortOption = Annotated[str | None, typer.Option(help="FIELD or FIELD:desc (default: tag).")]
