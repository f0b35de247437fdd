"""Validation of asset field values, shared by the CLI flags and (later) file import.

Every parser takes the raw text a user typed and returns the stored value, or raises
InvalidInputError naming the field and the value. Nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from assetctl.errors import InvalidInputError

STATUSES = ("in_stock", "assigned", "in_repair", "retired", "lost")
UNASSIGNABLE = ("retired", "lost")

TAG_MAX = 64
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


def _text(field: str, max_len: int, *, multiline: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value:
            raise InvalidInputError(f"{field} must not be empty (got {_show(raw)})")
        if len(value) > max_len:
            raise InvalidInputError(
                f"{field} is longer than {max_len} characters ({len(value)}): {_show(value)}"
            )
        checked = value.replace("\n", "").replace("\t", "") if multiline else value
        if has_control(checked):
            raise InvalidInputError(f"{field} contains control characters: {_show(value)}")
        return value

    return parse


def parse_status(raw: str) -> str:
    value = raw.strip().lower()
    if value not in STATUSES:
        raise InvalidInputError(
            f"status {_show(raw)} is not valid", hint=f"use one of: {', '.join(STATUSES)}"
        )
    return value


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


def cents_to_decimal(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


# Field name -> parser of the raw text. Order is the order of the JSON representation.
PARSERS: dict[str, Callable[[str], Any]] = {
    "tag": _text("tag", TAG_MAX),
    "name": _text("name", 200),
    "category": _text("category", 64),
    "status": parse_status,
    "serial": _text("serial", 128),
    "manufacturer": _text("manufacturer", 200),
    "model": _text("model", 200),
    "location": _text("location", 200),
    "assignee": _text("assignee", 200),
    "purchase_date": parse_date("purchase_date"),
    "purchase_cost": parse_cost,
    "warranty_until": parse_date("warranty_until"),
    "notes": _text("notes", 10_000, multiline=True),
}
REQUIRED = ("tag", "name", "category")
# Optional fields an update may clear by passing an empty value.
CLEARABLE = frozenset(
    {
        "serial",
        "manufacturer",
        "model",
        "location",
        "purchase_date",
        "purchase_cost",
        "warranty_until",
        "notes",
    }
)


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
