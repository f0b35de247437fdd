"""Output writers: one class per `-o` format, registered once, shared by every command.

A writer puts records (mappings of field -> value) on a text stream in one format, a row at a
time, so `--all` and exports stream in bounded memory. `asset list/show/history`, users,
alerts, login history, `config show`, `cache stats`, `describe`, import reports and the
exporter's Python path all take their writer from this registry by name. Values become text
through the codec in `json_values` only.

Stored text is other people's data: formats for people (table, plain, tsv, and csv on a
terminal) show control, bidi and other invisible characters as visible escapes
(`json_values.visible`); JSON keeps the exact values, with those characters written as
`\\uXXXX` escapes so that even JSON on a terminal cannot drive it.

Adding a format is one class: subclass `Writer`, give it a `name`, decorate it with
`@register`, and `-o NAME` works in every command that prints records. The Rich table for
people at a terminal registers itself from `assetctl.cli.table` (core never imports Rich).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TextIO, TypeVar

from assetctl.errors import InvalidInputError
from assetctl.json_values import dumps, json_escape_invisible, text_value, visible


class View:
    """What a writer shows of each record. (A plain class: a dataclass would cost every
    data command ~0.5 ms of start-up to build.)"""

    __slots__ = ("cell", "color", "columns", "extra", "fields")

    def __init__(
        self,
        fields: Sequence[str],
        columns: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
        *,
        color: bool = False,
        cell: Callable[[str, str], str] | None = None,
    ) -> None:
        # Every field under its stable name: what scripts get (json, jsonl, csv, tsv).
        self.fields = fields
        # The human view (table, plain); empty means the fields.
        self.columns = columns
        # JSON only: more top-level keys; the list then becomes `{"items": [...], **extra}`.
        self.extra = extra
        # Tables only: colour allowed (a terminal, and no NO_COLOR / --no-color).
        self.color = color
        # CSV only: rewrites each (field, text) cell, e.g. defusing formulas (--safe-csv).
        self.cell = cell


class Writer:
    """One output format. `write` streams rows; `record` shows a single object."""

    name: ClassVar[str]
    # Offered by `-o`; `plain` is only the default when stdout is not a terminal.
    listed: ClassVar[bool] = True
    # Made for people rather than scripts: listed first.
    for_people: ClassVar[bool] = False

    def __init__(self, out: TextIO, view: View) -> None:
        self.out = out
        self.view = view
        self.count = 0  # rows written so far

    @property
    def columns(self) -> Sequence[str]:
        return self.view.columns or self.view.fields

    def begin(self) -> None:
        """Before the first row."""

    def row(self, record: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def end(self) -> None:
        """After the last row, also when there was none."""

    def write(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Write every row as it comes; return how many."""
        self.begin()
        for record in rows:
            self.add(record)
        self.end()
        return self.count

    def add(self, record: Mapping[str, Any]) -> None:
        """One more row, between `begin` and `end`: for callers handed rows one at a time."""
        self.row(record)
        self.count += 1

    def record(self, record: Mapping[str, Any]) -> None:
        """One object on its own (`show`); by default a list of one."""
        self.write([record])

    def _fields_of(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {f: record[f] for f in self.view.fields}


_REGISTRY: dict[str, type[Writer]] = {}
W = TypeVar("W", bound=type[Writer])


def register(cls: W) -> W:
    """Class decorator: make `cls` the writer of `-o cls.name`."""
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> list[str]:
    """Every writer's name, `-o` choices or not."""
    return list(_REGISTRY)


def formats() -> list[str]:
    """The names `-o` offers: formats for people first, then in registration order."""
    listed = [cls for cls in _REGISTRY.values() if cls.listed]
    return [cls.name for cls in sorted(listed, key=lambda cls: not cls.for_people)]


def make_writer(name: str, out: TextIO, view: View) -> Writer:
    """The writer of format `name` on `out`."""
    cls = _REGISTRY.get(name)
    if cls is None:
        raise InvalidInputError(
            f"output format {name!r} is not supported", hint=f"use one of {', '.join(formats())}"
        )
    return cls(out, view)


def _json(data: Any, *, indent: int | None = None) -> str:
    return json_escape_invisible(dumps(data, indent=indent))


@register
class JsonWriter(Writer):
    """One JSON array (or `{"items": [...], **extra}`), one object per line inside it."""

    name = "json"

    def begin(self) -> None:
        self.out.write('{"items": [' if self.view.extra is not None else "[")

    def row(self, record: Mapping[str, Any]) -> None:
        self.out.write(("," if self.count else "") + "\n  " + _json(self._fields_of(record)))

    def end(self) -> None:
        self.out.write("\n]" if self.count else "]")
        if self.view.extra is not None:
            for key, value in self.view.extra.items():
                self.out.write(f", {_json(key)}: {_json(value)}")
            self.out.write("}")
        self.out.write("\n")

    def record(self, record: Mapping[str, Any]) -> None:
        self.out.write(_json(self._fields_of(record), indent=2) + "\n")


@register
class JsonLinesWriter(Writer):
    """One JSON object per line: what `asset import` reads and scripts stream."""

    name = "jsonl"

    def row(self, record: Mapping[str, Any]) -> None:
        self.out.write(_json(self._fields_of(record)) + "\n")


@register
class CsvWriter(Writer):
    """RFC 4180 CSV with a header of the field names; `\\n` line ends. Exact values in a file
    or a pipe; on a terminal, invisible characters are shown escaped."""

    name = "csv"

    def begin(self) -> None:
        import csv

        self._csv = csv.writer(self.out, lineterminator="\n")
        self._csv.writerow(self.view.fields)
        self._on_terminal = self.out.isatty()

    def row(self, record: Mapping[str, Any]) -> None:
        fields = self.view.fields
        cells = [text_value(record[f]) for f in fields]
        cell = self.view.cell
        if cell is not None:
            cells = [cell(f, text) for f, text in zip(fields, cells, strict=True)]
        if self._on_terminal:
            cells = [visible(text) for text in cells]
        self._csv.writerow(cells)


def tsv_cell(value: Any) -> str:
    """A value as one TSV cell: backslash escapes keep one record per line whatever the
    data holds (`\\t`, `\\n`, `\\\\`), and show every other invisible character."""
    return visible(text_value(value).replace("\\", "\\\\"))


@register
class TsvWriter(Writer):
    """Tab-separated fields with a header."""

    name = "tsv"
    header: ClassVar[bool] = True

    def _names(self) -> Sequence[str]:
        return self.view.fields

    def begin(self) -> None:
        if self.header:
            self.out.write("\t".join(self._names()) + "\n")

    def row(self, record: Mapping[str, Any]) -> None:
        self.out.write("\t".join(tsv_cell(record[c]) for c in self._names()) + "\n")


@register
class PlainWriter(TsvWriter):
    """The default when stdout is not a terminal: the table's columns, tab-separated, no
    header (like `gh`); one object is `field<TAB>value` lines."""

    name = "plain"
    listed = False
    header = False

    def _names(self) -> Sequence[str]:
        return self.columns

    def record(self, record: Mapping[str, Any]) -> None:
        for f in self.view.fields:
            self.out.write(f"{f}\t{tsv_cell(record[f])}\n")
