"""Reading import files: UTF-8 decoding line by line, format detection, CSV / JSON Lines /
Snipe-IT header mapping. Rows are yielded one at a time so a file of any size is read in
bounded memory; every problem found on the way is recorded with its line, column and value
instead of stopping at the first one.

Nothing here validates field values (that is `core.assets.fields`) or touches the database.
"""

from __future__ import annotations

import codecs
import csv
import json
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from assetctl.core.assets.schema import FIELDS, INPUT_FIELDS, REQUIRED, SNIPEIT_HEADERS
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from _csv import Reader

# Columns an import sets: every field `asset add` takes, plus the AI description (so an
# export re-imports without losing it).
IMPORT_FIELDS = INPUT_FIELDS
# Columns of an export that the system manages; import accepts and ignores them.
READ_ONLY = frozenset(f.name for f in FIELDS if not f.settable)
FORMATS = ("auto", "csv", "jsonl", "snipeit")
BLOCK_BYTES = 256 * 1024  # read and decoded at once; progress is reported per block

# Snipe-IT's default status labels -> our statuses. Our own names pass through unchanged.
SNIPEIT_STATUSES = {
    "ready to deploy": "in_stock",
    "pending": "in_stock",
    "deployable": "in_stock",
    "deployed": "assigned",
    "out for repair": "in_repair",
    "broken": "in_repair",
    "archived": "retired",
    "undeployable": "retired",
    "lost/stolen": "lost",
    "lost": "lost",
    "stolen": "lost",
}
_SNIPEIT_COST_JUNK = re.compile(r"[,\s$€£¥]")
_SNIPEIT_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(:\d{2})?")


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


@dataclass
class Source:
    """An opened import file: its format, header facts, problems so far, and its rows."""

    format: str
    rows: Iterator[RawRow]
    problems: list[Problem]
    columns: dict[str, str] = field(default_factory=dict)  # field -> column name in the file
    ignored: list[str] = field(default_factory=list)  # columns read but not imported
    missing: frozenset[str] = frozenset()  # required fields the header lacks


def _normal(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _show(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


class _Lines:
    """Decoded lines of a byte stream; bad UTF-8 is reported with its line and replaced."""

    def __init__(
        self,
        stream: BinaryIO,
        problems: list[Problem],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.stream = stream
        self.problems = problems
        self.progress = progress
        self.number = 0
        self.consumed = 0

    def __iter__(self) -> Iterator[str]:
        # Lines are read and decoded a block at a time (C loops); only a block holding bad
        # UTF-8 is decoded line by line, to name the line. Consumers count lines themselves
        # (csv.reader.line_num, enumerate), so nothing here runs per line in Python.
        progress, stream = self.progress, self.stream
        while True:
            block = stream.readlines(BLOCK_BYTES)
            if not block:
                break
            if self.number == 0 and block[0].startswith(codecs.BOM_UTF8):
                block[0] = block[0][len(codecs.BOM_UTF8) :]
            try:
                texts = [raw.decode("utf-8") for raw in block]
            except UnicodeDecodeError:
                texts = [self._decode(self.number + i, raw) for i, raw in enumerate(block, 1)]
            self.number += len(block)
            self.consumed += sum(map(len, block))
            if progress is not None:
                progress(self.consumed)
            yield from texts

    def _decode(self, number: int, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.end]
            self.problems.append(
                Problem(
                    number,
                    None,
                    bad.hex(" "),
                    f"line {number} is not valid UTF-8 (byte 0x{bad[0]:02x} at byte "
                    f"{exc.start + 1}); save the file as UTF-8",
                )
            )
            return raw.decode("utf-8", "replace")


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
    return "jsonl" if head.removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"{" else "csv"


def open_source(
    stream: BinaryIO,
    fmt: str,
    *,
    update: bool,
    ignore_unknown: bool,
    progress: Callable[[int], None] | None = None,
) -> Source:
    """Read the header (CSV) and return the rows to come. Raises InvalidInputError only for
    a file that has no header at all; everything else becomes a listed Problem."""
    problems: list[Problem] = []
    lines = _Lines(stream, problems, progress)
    if fmt == "jsonl":
        return Source("jsonl", _jsonl_rows(lines, problems, ignore_unknown), problems)
    return _csv_source(lines, problems, fmt, update=update, ignore_unknown=ignore_unknown)


def _csv_source(
    lines: _Lines, problems: list[Problem], fmt: str, *, update: bool, ignore_unknown: bool
) -> Source:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInputError(
            "the file is empty: a CSV import needs a header row naming its columns",
            hint="the first line must name the columns, e.g. tag,name,category",
        ) from None
    except csv.Error as exc:
        raise InvalidInputError(f"line 1 (the header) is not valid CSV: {exc}") from None
    names = [_normal(name) for name in header]
    if fmt == "csv" and "asset_tag" in names and "tag" not in names:
        fmt = "snipeit"
    mapping = SNIPEIT_HEADERS if fmt == "snipeit" else {f: f for f in IMPORT_FIELDS}
    columns: dict[str, str] = {}
    positions: list[tuple[int, str]] = []
    ignored: list[str] = []
    unknown: list[str] = []
    for index, (original, name) in enumerate(zip(header, names, strict=True)):
        target = mapping.get(name)
        if target is None:
            if (name in READ_ONLY and fmt != "snipeit") or ignore_unknown:
                ignored.append(original)
            else:
                unknown.append(original)
            continue
        if target in columns:
            problems.append(
                Problem(1, original, None, f"column {original!r} repeats {columns[target]!r}")
            )
            continue
        columns[target] = original
        positions.append((index, target))
    if not columns:
        problems.append(
            Problem(
                1,
                None,
                _show(",".join(header)),
                "the first line is not a header: it names none of the import columns "
                f"({', '.join(IMPORT_FIELDS)})",
            )
        )
    else:
        for original in unknown:
            problems.append(
                Problem(
                    1,
                    original,
                    None,
                    f"unknown column {original!r} (pass --ignore-unknown to skip it)",
                )
            )
    # With --update a file may carry only the columns it changes; new rows still need them.
    needed = ("tag",) if update else REQUIRED
    missing = frozenset(f for f in needed if f not in columns) if columns else frozenset()
    for name in sorted(missing, key=REQUIRED.index):
        shown = "Asset Tag" if fmt == "snipeit" and name == "tag" else name
        problems.append(Problem(1, shown, None, f"required column {shown!r} is missing"))
    rows = _csv_rows(reader, problems, len(header), positions, fmt)
    return Source(fmt, rows, problems, columns, ignored, missing)


def _csv_rows(
    reader: Reader,
    problems: list[Problem],
    width: int,
    positions: list[tuple[int, str]],
    fmt: str,
) -> Iterator[RawRow]:
    snipeit = fmt == "snipeit"
    targets = [target for _, target in positions]
    indices = [index for index, _ in positions]
    # itemgetter picks the imported cells in C; with one index it returns a bare value.
    pick: Any = (
        operator.itemgetter(*indices)
        if len(indices) > 1
        else (lambda cells: tuple(cells[i] for i in indices))
    )
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc)
            if "unexpected end of data" in reason:
                reason = "a quoted field is never closed (unterminated quote)"
            problems.append(Problem(start, None, None, f"malformed CSV: {reason}"))
            continue
        if not cells:  # a blank line
            continue
        if len(cells) != width:
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
        if snipeit:
            _from_snipeit(values)
        yield RawRow(start, values)


def _from_snipeit(values: dict[str, str | None]) -> None:
    """Snipe-IT spellings of status, cost and dates -> ours (unknown text passes through and
    is then reported by the field parser)."""
    status = values.get("status")
    if status is not None:
        values["status"] = SNIPEIT_STATUSES.get(status.strip().lower(), status)
    cost = values.get("purchase_cost")
    if cost is not None:
        values["purchase_cost"] = _SNIPEIT_COST_JUNK.sub("", cost)
    for key in ("purchase_date", "warranty_until"):
        text = values.get(key)
        if text is not None:
            match = _SNIPEIT_DATETIME.fullmatch(text.strip())
            if match:
                values[key] = match.group(1)


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


def _jsonl_rows(lines: _Lines, problems: list[Problem], ignore_unknown: bool) -> Iterator[RawRow]:
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
