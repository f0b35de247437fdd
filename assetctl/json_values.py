"""The value codec: how our records' values look in JSON, CSV, TSV and tables, and the
lossless form assetctl keeps for itself (`wire`/`unwire`: cache entries, history, cursors).

Timestamps are RFC 3339 UTC with a `Z` (README, "Output"), dates ISO dates, money a JSON
number (in text, the decimal as stored: `1299.50`), JSON values (dicts, lists) JSON text with
non-ASCII kept. Every writer, the exporter, history and alert records spell values through
this module, so every command prints a value the same way. Light on purpose: it sits on the
CLI's start-up path (`json` and `decimal` are imported on first use).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from decimal import Decimal


def rfc3339(value: datetime) -> str:
    """`2026-11-26T14:00:00.123456Z`: UTC, whatever zone `value` carries."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_value(value: Any) -> Any:
    """A record value as JSON carries it; anything JSON knows already is returned as is."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    from decimal import Decimal

    if isinstance(value, Decimal):
        # A JSON number: scripts compare costs numerically; two decimals survive float repr.
        return float(value)
    return value


def _json_default(value: Any) -> Any:
    converted = json_value(value)
    if converted is value:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")
    return converted


@functools.cache
def _encoder(indent: int | None) -> Callable[[Any], str]:
    # One encoder per layout, built once: exports encode a row at a time.
    import json

    return json.JSONEncoder(ensure_ascii=False, default=_json_default, indent=indent).encode


def dumps(data: Any, *, indent: int | None = None) -> str:
    """`data` as JSON text: our values converted (`json_value`), non-ASCII kept as is."""
    return _encoder(indent)(data)


def text_value(value: Any) -> str:
    """A value as one text cell (CSV, TSV, tables): empty for None, RFC 3339 for
    timestamps, JSON for dicts and lists, else `str` (ISO dates, `1299.50`)."""
    if type(value) is str:  # most cells: no conversion at all
        return value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, dict | list):
        return dumps(value)
    return str(value)


# Short escapes people know; every other invisible character is spelled by its code point.
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    short = _SHORT_ESCAPES.get(ch)
    if short is not None:
        return short
    point = ord(ch)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def visible(text: str) -> str:
    """`text` safe to show on a terminal: every control, format (bidi, zero-width), line or
    paragraph separator, surrogate, private-use or unassigned character is spelled as an escape
    (`\\x1b`, `\\u202e`, `\\n`), so stored data can never move the cursor, set the title,
    write the clipboard or reorder what is shown. The one escaping of every renderer for
    people (tables, plain and TSV rows, CSV on a terminal, messages on stderr)."""
    if text.isprintable():  # nearly every value: one C-level scan
        return text
    import unicodedata

    # Spaces other than " " (no-break, thin, ideographic) are visible as space: kept.
    return "".join(
        ch if ch.isprintable() or unicodedata.category(ch) == "Zs" else _escape(ch) for ch in text
    )


def visible_lines(text: str) -> str:
    """A message for people: each of its lines made `visible` (its own line breaks stay)."""
    return "\n".join(visible(line) for line in text.split("\n"))


def display_value(value: Any) -> str:
    """A value as a cell for people: `text_value`, made `visible`."""
    return visible(text_value(value))


def json_escape_invisible(text: str) -> str:
    """JSON text with every invisible character in its strings written as a `\\uXXXX`
    escape: the same value, but safe on a terminal (the encoder escapes only C0 controls).
    Raw newlines are the layout of indented JSON and stay."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == "\n":
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:  # a JSON escape is UTF-16: a surrogate pair
            high, low = divmod(ord(ch) - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
    return "".join(out)


def cents_to_decimal(cents: int | None) -> Decimal | None:
    """Money as records carry it: the stored integer cents as a Decimal with two places."""
    from decimal import Decimal

    return None if cents is None else Decimal(cents).scaleb(-2)


def wire(value: Any) -> Any:
    """A value in the lossless JSON form assetctl keeps for itself (cache entries, history
    events, cursors): timestamps ISO 8601 with their UTC offset, dates ISO, money as a
    decimal string ("1299.50"). `unwire` reads it back."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    return value


def unwire(kind: str, value: Any) -> Any:
    """The value `wire` made of a field of this kind (`schema.Kind`); raises ValueError or
    TypeError on anything malformed."""
    if value is None:
        return None
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "timestamp":
        return datetime.fromisoformat(value)
    if kind == "money":
        from decimal import Decimal

        return Decimal(value)
    return value
