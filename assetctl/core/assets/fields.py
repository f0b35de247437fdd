"""Parsing of asset field values, shared by the CLI flags and file import.

Every parser takes the raw text a user typed and returns the value as it is stored (category
lower-cased, cost in cents, a JSON object as JSON text), or raises InvalidInputError naming
the field and the value. The parser of each field follows from its kind and limits in the
catalogue (`schema.py`). Nothing here touches the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from assetctl.core.assets.rules import STATUSES
from assetctl.core.assets.schema import BY_NAME, CLEARABLE, FIELDS, ID_PREFIX, Field, Kind
from assetctl.core.input_text import check_text, parse_choice, shown
from assetctl.errors import InvalidInputError

TAG_MAX = BY_NAME["tag"].max_len
MAX_COST_CENTS = 10**14  # 1 trillion: far above any asset, far below BIGINT

# ASCII digits only: `\d` alone also matches other scripts' digits ("١٢٣"), which Decimal
# reads as 123.
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_COST_RE = re.compile(r"\d+(\.\d{1,2})?", re.ASCII)


def _text(field: Field) -> Callable[[str], str]:
    name, max_len = field.name, field.max_len or 0

    def parse(raw: str) -> str:
        value = check_text(name, raw, max_len, multiline=field.multiline)
        if field.reference and value.startswith(ID_PREFIX):
            raise InvalidInputError(
                f"{name} {shown(value)} starts with {ID_PREFIX!r}, which asset references "
                "keep for ids",
                hint=f"`{ID_PREFIX}5` always means the asset with id 5; choose another {name}",
            )
        return value.lower() if field.lower else value

    return parse


def parse_status(raw: str) -> str:
    return parse_choice("status", STATUSES, raw)


def parse_date(field: str) -> Callable[[str], date]:
    def parse(raw: str) -> date:
        value = raw.strip()
        if not _DATE_RE.fullmatch(value):
            raise InvalidInputError(
                f"{field} {shown(raw)} is not a date", hint="use YYYY-MM-DD, e.g. 2026-03-31"
            )
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(
                f"{field} {shown(raw)} is not a calendar date", hint="use YYYY-MM-DD"
            ) from None

    return parse


def parse_cost(raw: str) -> int:
    """A non-negative amount with at most two decimals, returned in cents."""
    value = raw.strip()
    if not _COST_RE.fullmatch(value):
        raise InvalidInputError(
            f"purchase_cost {shown(raw)} is not a valid amount",
            hint="use a non-negative number with ASCII digits, a dot and at most two decimals, "
            "e.g. 1299.50",
        )
    try:
        cents = int(Decimal(value) * 100)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise InvalidInputError(f"purchase_cost {shown(raw)} is not a valid amount") from None
    if cents > MAX_COST_CENTS:
        raise InvalidInputError(f"purchase_cost {shown(raw)} is too large")
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
            f"description_source.at {shown(at)} is not an RFC 3339 UTC time", hint=hint
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
