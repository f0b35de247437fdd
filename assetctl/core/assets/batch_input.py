"""What a batch command works on: REFs given as arguments, or a file (`--from FILE|-`) of one
REF per line or of JSON Lines objects `{"ref": ..., <fields>}`.

A file is JSON Lines when its first non-blank line starts with `{`; every line of it must
then be an object with a `ref`. Blank lines and, in REF files, lines starting with `#` are
skipped. Problems are not raised here: each becomes an item carrying its error, so the batch
can list every problem of the file at once.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from assetctl.errors import AssetctlError, InvalidInputError

# Keys every JSON Lines object may carry besides the operation's own fields.
COMMON_KEYS = ("ref", "if_version")


@dataclass(frozen=True)
class Item:
    """One asset to act on. `line` is the file's line number, or the argument's position;
    `values` are raw text per field ("" clears an optional one); `error` is set when the
    line is bad."""

    line: int
    ref: str | None
    values: Mapping[str, str | None] = field(default_factory=dict)
    if_version: int | None = None
    error: AssetctlError | None = None


def items_from_refs(refs: Iterable[str], defaults: Mapping[str, str | None]) -> list[Item]:
    """Items from command-line REFs, each with the command's own options."""
    return [Item(n, ref, dict(defaults)) for n, ref in enumerate(refs, start=1)]


def items_from_lines(
    lines: Iterable[str], keys: Collection[str], defaults: Mapping[str, str | None]
) -> list[Item]:
    """Items from the lines of a `--from` file. `keys` are the fields a JSON Lines object may
    set for this operation; `defaults` (the command's options) apply where a line is silent."""
    items: list[Item] = []
    json_lines: bool | None = None
    for number, raw in enumerate(lines, start=1):
        text = raw.strip().lstrip("\ufeff") if number == 1 else raw.strip()
        if not text:
            continue
        if json_lines is None:
            json_lines = text.startswith("{")
        if json_lines:
            items.append(_json_item(number, text, keys, defaults))
        elif not text.startswith("#"):
            items.append(Item(number, text, dict(defaults)))
    return items


def _bad(number: int, ref: str | None, message: str, hint: str | None = None) -> Item:
    return Item(number, ref, error=InvalidInputError(message, hint=hint))


def _json_item(
    number: int, text: str, keys: Collection[str], defaults: Mapping[str, str | None]
) -> Item:
    try:
        obj = json.loads(text)
    except ValueError:
        return _bad(number, None, "not valid JSON", hint='write one object per line: {"ref": ...}')
    if not isinstance(obj, dict):
        return _bad(number, None, f"not a JSON object but {type(obj).__name__}")
    ref = obj.get("ref")
    if not isinstance(ref, str | int) or isinstance(ref, bool) or not str(ref).strip():
        return _bad(number, None, 'the object has no "ref" (a tag or an id)')
    ref = str(ref)
    allowed = (*COMMON_KEYS, *keys)
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        return _bad(
            number, ref, f"unknown field {', '.join(unknown)}",
            hint=f"this command takes: {', '.join(allowed)}",
        )  # fmt: skip
    version = obj.get("if_version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        return _bad(number, ref, f"if_version must be a whole number, not {version!r}")
    values: dict[str, str | None] = dict(defaults)
    for key in keys:
        if key not in obj:
            continue
        value = obj[key]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, str | int | float)
        ):
            return _bad(number, ref, f"{key} must be text, a number or null")
        values[key] = "" if value is None else str(value)  # "" clears, as `--FIELD ""` does
    return Item(number, ref, values, version)
