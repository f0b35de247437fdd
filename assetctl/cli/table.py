"""The Rich table writer (`-o table`, the default on a terminal), registered with the other
formats in `assetctl.writers`; it lives in the CLI because core never imports Rich."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assetctl.json_values import display_value
from assetctl.writers import Writer, register

STATUS_COLOURS = {
    "in_stock": "green",
    "assigned": "cyan",
    "in_repair": "yellow",
    "retired": "dim",
    "lost": "red",
}


def _cell(column: str, value: Any) -> str:
    """Rich markup for one cell: invisible characters shown as escapes (data never drives
    the terminal), the text escaped (data is never markup), statuses in colour."""
    from rich.markup import escape

    text = escape(display_value(value))
    colour = STATUS_COLOURS.get(text) if column == "status" else None
    return f"[{colour}]{text}[/]" if colour else text


@register
class TableWriter(Writer):
    """Rows under a header of the columns; one object is a vertical field/value table."""

    name = "table"
    for_people = True

    def begin(self) -> None:
        from rich.table import Table

        self._table = Table(box=None, header_style="bold", pad_edge=False)
        for column in self.columns:
            self._table.add_column(column.upper().replace("_", " "), overflow="fold")

    def row(self, record: Mapping[str, Any]) -> None:
        self._table.add_row(*(_cell(c, record[c]) for c in self.columns))

    def end(self) -> None:
        if self.count:
            self._print(self._table)

    def record(self, record: Mapping[str, Any]) -> None:
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for f in self.view.fields:
            table.add_row(f, _cell(f, record[f]))
        self._print(table)

    def _print(self, table: Any) -> None:
        from rich.console import Console

        console = Console(
            file=self.out, no_color=not self.view.color, highlight=False, soft_wrap=False
        )
        console.print(table)
