"""Parsing of asset field values, shared by the CLI flags and file import.

Every parser takes the raw text a user typed and returns the value as it is stored (category
lower-cased, cost in cents, a JSON object as JSON text), or raises InvalidInputError naming
the field and the value. The parser of each field follows from its kind and limits in the
catalogue (`schema.py`). Nothing here touches the database.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from assetctl.core.assets.rules import STATUSES
from assetctl.core.assets.schema import BY_NAME, CLEARABLE, FIELDS, Field, Kind
from assetctl.errors import InvalidInputError

TAG_MAX = BY_NAME["tag"].max_len
MAX_COST_CENTS = 10**14  # 1 trillion: far above any asset, far below BIGINT

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COST_RE = re.compile(r"\d+(\.\d{1,2})?")


def _show(value: str) -> str:
    """Quote a user value for an error message without letting control characters through."""
    shown = value if len(value) <= 80 else value[:77] + "..."
    return repr(shown)


def has_control(value: str) -> bool:
    """Whether `value` holds control, format (bidi) or line/paragraph separator characters."""
    # isprintable() is False for every Cc/Cf/Zl/Zp character, so the common case needs no
    # per-character lookup (file import calls this for every cell).
    if value.isprintable():
        return False
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def check_text(name: str, raw: str, max_len: int, *, multiline: bool = False) -> str:
    """The rule of every free-text value, whoever gives it (flags, files, a model's reply,
    user names): stripped, not empty, at most `max_len` characters, and no control, format
    (bidi, zero-width) or separator characters; `multiline` allows newlines and tabs."""
    value = raw.strip()
    if not value:
        raise InvalidInputError(f"{name} must not be empty (got {_show(raw)})")
    if len(value) > max_len:
        raise InvalidInputError(
            f"{name} is longer than {max_len} characters ({len(value)}): {_show(value)}"
        )
    checked = value.replace("\n", "").replace("\t", "") if multiline else value
    if has_control(checked):
        raise InvalidInputError(f"{name} contains control characters: {_show(value)}")
    return value


def _text(field: Field) -> Callable[[str], str]:
    name, max_len = field.name, field.max_len or 0

    def parse(raw: str) -> str:
        value = check_text(name, raw, max_len, multiline=field.multiline)
        return value.lower() if field.lower else value

    return parse


def parse_choice(what: str, allowed: tuple[str, ...], raw: str) -> str:
    """One of a closed list of lower-case words (a status, a role), case-insensitively."""
    value = raw.strip().lower()
    if value not in allowed:
        raise InvalidInputError(
            f"{what} {_show(raw)} is not valid", hint=f"use one of: {', '.join(allowed)}"
        )
    return value


def parse_status(raw: str) -> str:
    return parse_choice("status", STATUSES, raw)


def parse_date(field: str) -> Callable[[str], date]:
    def parse(raw: str) -> date:
        value = raw.strip()
        if not _DATE_RE.fullmatch(value):
            raise InvalidInputError(
                f"{field} {_show(raw)} is not a date", hint="use YYYY-MM-DD, e.g. 2026-03-31"
            )
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(
                f"{field} {_show(raw)} is not a calendar date", hint="use YYYY-MM-DD"
            ) from None

    return parse


def parse_cost(raw: str) -> int:
    """A non-negative amount with at most two decimals, returned in cents."""
    value = raw.strip()
    if not _COST_RE.fullmatch(value):
        raise InvalidInputError(
            f"purchase_cost {_show(raw)} is not a valid amount",
            hint="use a non-negative number with a dot and at most two decimals, e.g. 1299.50",
        )
    try:
        cents = int(Decimal(value) * 100)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise InvalidInputError(f"purchase_cost {_show(raw)} is not a valid amount") from None
    if cents > MAX_COST_CENTS:
        raise InvalidInputError(f"purchase_cost {_show(raw)} is too large")
    return cents


# The one shape of `description_source`, as `describe --save` writes it and export carries
# it: who described the asset and when. Nothing else may be stored there, so provenance
# cannot be forged with arbitrary JSON.
SOURCE_KEYS = frozenset({"provider", "model", "at"})
SOURCE_OPTIONAL = frozenset({"details"})
_DETAILS_DEPTH = 4


def parse_description_source(raw: str) -> str | None:
    """`description_source` as JSON text: null, or exactly {"provider", "model", "at"} (and
    the model's structured "details" object), each checked like every stored text."""
    hint = 'it is written by `describe --save`: {"provider": ..., "model": ..., "at": ...}'
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidInputError("description_source is not JSON", hint=hint) from None
    if value is None:
        return None
    if not isinstance(value, dict) or not (
        SOURCE_KEYS <= value.keys() <= SOURCE_KEYS | SOURCE_OPTIONAL
    ):
        raise InvalidInputError("description_source is not a description source", hint=hint)
    for key in sorted(SOURCE_KEYS):
        if not isinstance(value[key], str):
            raise InvalidInputError(f"description_source.{key} must be a string", hint=hint)
        check_text(f"description_source.{key}", value[key], 200)
    at = value["at"]
    if not at.endswith("Z") or _timestamp(at) is None:
        raise InvalidInputError(
            f"description_source.at {_show(at)} is not an RFC 3339 UTC time", hint=hint
        )
    if "details" in value:
        if not isinstance(value["details"], dict):
            raise InvalidInputError("description_source.details must be an object", hint=hint)
        _check_details("description_source.details", value["details"], _DETAILS_DEPTH)
    return json.dumps(value, ensure_ascii=False)


def _timestamp(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _check_details(where: str, value: Any, depth: int) -> None:
    """A model's structured answer: JSON of bounded depth whose texts follow the rules."""
    if isinstance(value, str):
        if value.strip():
            check_text(where, value, 100_000, multiline=True)
        return
    if not isinstance(value, dict | list):
        return  # numbers, booleans, null
    if depth == 0:
        raise InvalidInputError(f"{where} is nested too deeply")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str):
            check_text(f"{where} key", key, 200)
        _check_details(f"{where}.{key}", item, depth - 1)


def _parser(field: Field) -> Callable[[str], Any]:
    if field.kind is Kind.TEXT:
        return _text(field)
    if field.kind is Kind.ENUM:
        return parse_status
    if field.kind is Kind.DATE:
        return parse_date(field.name)
    if field.kind is Kind.MONEY:
        return parse_cost
    if field.kind is Kind.JSON:
        return parse_description_source
    raise AssertionError(f"no parser for {field.kind} field {field.name}")  # pragma: no cover


# Field name -> parser of the raw text, for every field a user or a file may set.
PARSERS: dict[str, Callable[[str], Any]] = {f.name: _parser(f) for f in FIELDS if f.settable}


def parse_fields(raw: Mapping[str, str | None], *, clearing: bool = False) -> dict[str, Any]:
    """Validate the given raw values (None = not given). With `clearing`, an empty value of
    a clearable field means "set to null" and is returned as None."""
    parsed: dict[str, Any] = {}
    for field, value in raw.items():
        if value is None:
            continue
        if clearing and field in CLEARABLE and value.strip() == "":
            parsed[field] = None
            continue
        parsed[field] = PARSERS[field](value)
    return parsed
