"""Reading import files: decoded lines (`bulk.decode`), format detection, and the header
plan that says which column fills which field: the asset field names, `--map 'Col=field'`
(or a mapping file), and Snipe-IT's columns (`bulk.snipeit`). Rows are yielded one at a time
so a file of any size is read in bounded memory; every problem found on the way is recorded
with its line, column and value instead of stopping at the first one.

Nothing here validates field values (that is `core.assets.fields` and `bulk.dates`) or
touches the database.
"""

from __future__ import annotations

import csv
import json
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from assetctl.core.assets.schema import FIELDS, INPUT_FIELDS, REQUIRED
from assetctl.core.bulk import snipeit
from assetctl.core.bulk.decode import Lines
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from _csv import Reader

# Columns an import sets: every field `asset add` takes, plus the AI description (so an
# export re-imports without losing it).
IMPORT_FIELDS = INPUT_FIELDS
# Columns of an export that the system manages; import accepts and ignores them.
READ_ONLY = frozenset(f.name for f in FIELDS if not f.settable)
FORMATS = ("auto", "csv", "jsonl", "snipeit")
# `--map 'Col=ignore'` leaves a column out on purpose.
IGNORE = "ignore"
# Cell separators a spreadsheet may have written; the header decides which one it is.
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Problem:
    """One reason the file cannot be imported. `conflict` problems (duplicates, existing
    tags) alone make exit 6; any other problem makes exit 2."""

    line: int
    column: str | None
    value: str | None
    reason: str
    conflict: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
            "kind": "conflict" if self.conflict else "invalid",
        }


@dataclass(frozen=True)
class RawRow:
    """One record of the file: field -> raw text (None or blank = empty cell / JSON null)."""

    line: int
    values: dict[str, str | None]


@dataclass(frozen=True)
class Recipe:
    """How to read someone else's file (`bulk.mapping` builds it from flags and a mapping
    file): column -> field (or IGNORE), status label (lower case) -> status, the date format,
    decimal commas, the encoding, and what rows are matched to existing assets by."""

    columns: Mapping[str, str] = field(default_factory=dict)
    statuses: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    decimal_comma: bool = False
    encoding: str | None = None  # None: the byte-order mark's, else UTF-8
    match: str = "tag"


@dataclass(frozen=True)
class ReadOptions:
    """How to read the file: everything but what to do with the rows."""

    format: str = "auto"
    update: bool = False
    ignore_unknown: bool = False
    recipe: Recipe = field(default_factory=Recipe)


@dataclass
class Source:
    """An opened import file: its format, header facts, problems so far, and its rows."""

    format: str
    rows: Iterator[RawRow]
    problems: list[Problem]
    columns: dict[str, str] = field(default_factory=dict)  # field -> column name in the file
    # Columns read but not imported: (column, why).
    ignored: list[tuple[str, str]] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)  # columns kept in the notes block
    missing: frozenset[str] = frozenset()  # required fields the header lacks


def normal(name: str) -> str:
    """A header as compared: lower case, runs of other characters as one underscore."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _show(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def detect_format(stream: BinaryIO, name: str, requested: str) -> str:
    """csv, jsonl or snipeit. `auto` looks at the extension, then at the first bytes."""
    if requested not in FORMATS:
        raise InvalidInputError(
            f"import format {requested!r} is not known", hint=f"use one of: {', '.join(FORMATS)}"
        )
    if requested != "auto":
        return requested
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lowered.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    peek = getattr(stream, "peek", None)
    head = peek(512) if peek is not None else b""
    return "jsonl" if head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{" else "csv"


def open_source(
    stream: BinaryIO,
    fmt: str,
    options: ReadOptions,
    progress: Callable[[int], None] | None = None,
) -> Source:
    """Read the header (CSV) and return the rows to come. Raises InvalidInputError only for
    a file that cannot be read at all (empty, binary); everything else becomes a listed
    Problem."""
    problems: list[Problem] = []
    lines = Lines(stream, options.recipe.encoding, problems, progress)
    if fmt == "jsonl":
        return Source("jsonl", _jsonl_rows(lines, problems, options.ignore_unknown), problems)
    return _csv_source(iter(lines), problems, fmt, options)


def _delimiter(first: str) -> str:
    """The separator the header line uses most (Excel writes ; where the decimal mark is
    a comma, and tabs in its "Unicode text")."""
    return max(DELIMITERS, key=first.count) if first.count(",") == 0 else ","


def _csv_source(
    lines: Iterator[str], problems: list[Problem], fmt: str, options: ReadOptions
) -> Source:
    first = next(lines, None)
    skipped = 0  # blank lines above the header: rows keep the line numbers an editor shows
    while first is not None and not first.strip():
        first = next(lines, None)
        skipped += 1
    if first is None:
        raise InvalidInputError(
            "the file is empty: a CSV import needs a header row naming its columns",
            hint="the first line must name the columns, e.g. tag,name,category",
        )
    delimiter = _delimiter(first)
    reader = csv.reader(_prepend(first, lines), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error:
        raise InvalidInputError(
            "line 1 (the header) is not valid CSV",
            hint="check its quotes: a quoted column name must end with a quote",
        ) from None
    names = [normal(name) for name in header]
    if fmt == "csv" and snipeit.looks_like(names) and "tag" not in names:
        fmt = "snipeit"
    plan = _plan(header, names, fmt, options, problems)
    rows = _csv_rows(reader, problems, len(header), plan, fmt, options, skipped)
    return Source(fmt, rows, problems, plan.columns, plan.ignored, plan.noted, plan.missing)


def _prepend(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


@dataclass
class _Plan:
    keys: list[tuple[int, str]] = field(default_factory=list)  # (cell index, field or role)
    columns: dict[str, str] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # neither fields nor mapped
    missing: frozenset[str] = frozenset()


def _plan(
    header: list[str], names: list[str], fmt: str, options: ReadOptions, problems: list[Problem]
) -> _Plan:
    """Which cell fills which field (or Snipe-IT role), and what is left out and why."""
    plan = _Plan()
    mapped = {normal(column): (column, target) for column, target in options.recipe.columns.items()}
    for index, (original, name) in enumerate(zip(header, names, strict=True)):
        target = _target(original, name, fmt, options, mapped, plan)
        if target is None:
            continue
        if target in plan.columns:
            problems.append(
                Problem(
                    1,
                    original,
                    None,
                    f"columns {plan.columns[target]!r} and {original!r} both fill {target}; "
                    "map only one of them (--map 'Column=ignore' leaves one out)",
                )
            )
            continue
        plan.columns[target] = original
        plan.keys.append((index, target))
    if fmt == "snipeit":
        person = plan.columns.get("@email") or plan.columns.get("@username")
        if person is not None and "assignee" not in plan.columns:
            plan.columns["assignee"] = person  # names the column of an assignee problem
    for column, _target_field in mapped.values():
        problems.append(
            Problem(
                1,
                column,
                None,
                f"--map names column {column!r}, which the header does not have "
                f"(it has: {_show(', '.join(header))})",
            )
        )
    _header_problems(plan, header, fmt, options, problems)
    return plan


def _target(
    original: str,
    name: str,
    fmt: str,
    options: ReadOptions,
    mapped: dict[str, tuple[str, str]],
    plan: _Plan,
) -> str | None:
    """The raw-row key of one column, or None when it is left out (recorded in `plan`)."""
    if name in mapped:
        target = mapped.pop(name)[1]
        if target == IGNORE:
            plan.ignored.append((original, "--map says ignore"))
            return None
        return target
    if fmt == "snipeit":
        key = snipeit.key_of(name)
        if key is None:
            plan.ignored.append((original, snipeit.dropped_reason(name)))
        elif key == snipeit.NOTE:
            plan.noted.append(original)
            return snipeit.NOTE + original
        elif key in snipeit.NOT_KEPT:
            plan.ignored.append((original, snipeit.NOT_KEPT[key]))
        return key
    if name in IMPORT_FIELDS:
        return name
    if name in READ_ONLY:
        plan.ignored.append((original, "managed by assetctl"))
    elif options.ignore_unknown:
        plan.ignored.append((original, "not an asset field (--ignore-unknown)"))
    else:
        plan.unknown.append(original)
    return None


def _header_problems(
    plan: _Plan, header: list[str], fmt: str, options: ReadOptions, problems: list[Problem]
) -> None:
    """A header naming no field, unknown columns, and required columns it lacks."""
    fields = {k for k in plan.columns if k in IMPORT_FIELDS or k.startswith(snipeit.ROLE)}
    if not fields:
        problems.append(
            Problem(
                1,
                None,
                _show(",".join(header)),
                "the first line is not a header: it names none of the import columns "
                f"({', '.join(IMPORT_FIELDS)}); map yours with --map 'Column=field'",
            )
        )
        return
    for original in plan.unknown:
        problems.append(
            Problem(
                1,
                original,
                None,
                f"unknown column {original!r} (map it with --map '{original}=FIELD', "
                "or pass --ignore-unknown to skip it)",
            )
        )
    # With --update a file may carry only the columns it changes; new rows still need them.
    needed = (options.recipe.match,) if options.update else REQUIRED
    plan.missing = frozenset(f for f in needed if f not in plan.columns)
    for name in sorted(plan.missing, key=needed.index):
        shown = snipeit.HEADER_OF.get(name, name) if fmt == "snipeit" else name
        problems.append(Problem(1, shown, None, f"required column {shown!r} is missing"))


def _csv_rows(
    reader: Reader,
    problems: list[Problem],
    width: int,
    plan: _Plan,
    fmt: str,
    options: ReadOptions,
    skipped: int,
) -> Iterator[RawRow]:
    targets = [target for _, target in plan.keys]
    indices = [index for index, _ in plan.keys]
    if not indices:
        return
    # itemgetter picks the imported cells in C; with one index it returns a bare value.
    pick: Any = (
        operator.itemgetter(*indices)
        if len(indices) > 1
        else (lambda cells: tuple(cells[i] for i in indices))
    )
    statuses = options.recipe.statuses
    convert = (
        snipeit.Converter(
            plan.columns, statuses, problems, decimal_comma=options.recipe.decimal_comma
        )
        if fmt == "snipeit"
        else None
    )
    relabel = statuses if convert is None and statuses and "status" in targets else None
    while True:
        start = reader.line_num + 1 + skipped
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The csv module's own words name its internals; say it in the file's terms.
            reason = (
                "a quoted field is never closed (unterminated quote)"
                if "unexpected end of data" in str(exc)
                else "a quote is misplaced (a quoted cell must end with a quote and a separator)"
            )
            problems.append(Problem(start, None, None, f"malformed CSV: {reason}"))
            continue
        if not cells:  # a blank line
            continue
        if len(cells) != width:
            if not any(cells):
                continue  # a line of empty cells, as spreadsheets add at the end
            problems.append(
                Problem(
                    start,
                    None,
                    None,
                    f"row has {len(cells)} cells but the header has {width} (ragged row)",
                )
            )
            continue
        values: dict[str, str | None] = dict(zip(targets, pick(cells), strict=True))
        if convert is not None:
            values = convert(start, values)
        elif relabel is not None:
            status = values["status"]
            if status:
                values["status"] = relabel.get(status.strip().lower(), status)
        yield RawRow(start, values)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Number(float):
    """A JSON number with a fraction or exponent, carrying its text: a float alone rounds
    1299.999999999999999 to 1300.0, which the two-decimals rule would then accept."""

    text: str


def _number(text: str) -> _Number:
    number = _Number(text)
    number.text = text
    return number


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object that refuses a repeated key (json.loads keeps the last one silently)."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


_decode_line = json.JSONDecoder(object_pairs_hook=_object, parse_float=_number).decode


def _parse_line(number: int, text: str, problems: list[Problem]) -> dict[str, Any] | None:
    """The line's JSON object, or None after recording why it is not one."""
    try:
        obj = _decode_line(text)
    except _DuplicateKey as exc:
        problems.append(Problem(number, exc.key, None, f"field {exc.key!r} appears more than once"))
        return None
    except ValueError as exc:
        problems.append(Problem(number, None, None, f"not valid JSON: {exc}"))
        return None
    except RecursionError:
        problems.append(
            Problem(number, None, None, "the JSON is nested too deeply (a line is one flat object)")
        )
        return None
    if not isinstance(obj, dict):
        problems.append(
            Problem(number, None, None, "each line must be a JSON object of asset fields")
        )
        return None
    return obj


def _jsonl_rows(lines: Lines, problems: list[Problem], ignore_unknown: bool) -> Iterator[RawRow]:
    known = frozenset(IMPORT_FIELDS)
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        obj = _parse_line(number, text, problems)
        if obj is None:
            continue
        values: dict[str, str | None] = {}
        for key, value in obj.items():
            if key not in known:
                if key not in READ_ONLY and not ignore_unknown:
                    problems.append(
                        Problem(
                            number,
                            key,
                            None,
                            f"unknown field {key!r} (pass --ignore-unknown to skip it)",
                        )
                    )
                continue
            if value is None or isinstance(value, str):
                values[key] = value if value is None or value.strip() else None
            elif isinstance(value, _Number):
                values[key] = value.text  # as written, so the field rules see every decimal
            elif isinstance(value, int) and not isinstance(value, bool):
                values[key] = str(value)
            elif key == "description_source" and isinstance(value, dict):
                values[key] = json.dumps(value)
            else:
                problems.append(
                    Problem(
                        number,
                        key,
                        _show(json.dumps(value)),
                        f"{key} must be a string or a number",
                    )
                )
        yield RawRow(number, values)
