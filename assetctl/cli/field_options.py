"""Command-line options derived from the asset field catalogue (`core/assets/schema.py`).

`asset add` and `asset update` get one `--FIELD` option per field they may set, and
`asset list` and `asset export` one exact filter per filterable field, so a new field
reaches the CLI without a line here. A decorated command takes the field values as
`**values` (field name -> raw text, None when not given).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Sequence
from typing import Annotated, Any, TypeVar

import typer

from assetctl.core.assets.schema import BY_NAME, FILTERABLE, SEARCHABLE

F = TypeVar("F", bound=Callable[..., Any])

SortOption = Annotated[
    str | None, typer.Option(metavar="FIELD[:desc]", help="FIELD or FIELD:desc (default: tag).")
]


def _or_list(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


SearchFilter = Annotated[
    str | None,
    typer.Option(metavar="TEXT", help=f"Case-insensitive text in {_or_list(SEARCHABLE)}."),
]


def _option(name: str, help_text: str, *, required: bool) -> inspect.Parameter:
    """`--NAME`; a required one is enforced by Typer (exit 2, "Missing option")."""
    flag = "--" + name.replace("_", "-")
    option = typer.Option(flag, metavar=BY_NAME[name].metavar, help=help_text)
    annotation: Any = Annotated[str if required else str | None, option]
    default = inspect.Parameter.empty if required else None
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _with_options(fn: F, options: list[inspect.Parameter]) -> F:
    """Give `fn` (which takes `**values`) the options as its signature says, after its own
    required parameters. Typer reads `__signature__` and `__annotations__`."""
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(fn, eval_str=True).parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    first = [p for p in own if p.default is inspect.Parameter.empty]
    rest = [p for p in own if p.default is not inspect.Parameter.empty]
    params = [*first, *options, *rest]
    fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params}
    return fn


def field_options(
    names: Sequence[str], *, required: Collection[str] = (), required_note: str = ""
) -> Callable[[F], F]:
    """One `--FIELD` option per field in `names` (its help from the catalogue). With a
    `required_note`, required fields are optional to Typer and their help says the note:
    the command checks them itself (`asset add --from-photo` may supply them)."""

    def decorate(fn: F) -> F:
        options = [
            _option(
                name,
                f"{BY_NAME[name].help} {required_note}" if required_note and name in required
                else BY_NAME[name].help,
                required=name in required and not required_note,
            )
            for name in names
        ]  # fmt: skip
        return _with_options(fn, options)

    return decorate


def filter_options(fn: F) -> F:
    """One exact-match `--FIELD VALUE` filter per filterable field."""
    options = [
        _option(name, f"Only assets with this {name}.", required=False) for name in FILTERABLE
    ]
    return _with_options(fn, options)
