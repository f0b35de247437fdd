"""How our records' values look in JSON and CSV output: timestamps as RFC 3339 UTC with a
`Z` (DESIGN.md, "Output"), dates as ISO dates, money as JSON numbers.

Shared by the CLI renderer, the exporter, history and alert records, so every command spells
a value the same way. Light on purpose: it sits on the CLI's start-up path.
"""

from __future__ import annotations

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


def cents_to_decimal(cents: int | None) -> Decimal | None:
    """Money as records carry it: the stored integer cents as a Decimal with two places."""
    from decimal import Decimal

    return None if cents is None else Decimal(cents).scaleb(-2)


def cents_text(cents: int) -> str:
    """The cents as `wire` writes the Decimal ("1299.50"), without building one: the import's
    fast path writes this for every row."""
    return f"{cents // 100}.{cents % 100:02d}"


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
