"""Durations as people type them, parsed one way everywhere: `report warranty --within`,
`alerts list --since`, the config file's and the security policy's spans
(`token_lifetime`, `lockout_window`, ...), and whatever takes a span of time next.

A duration is a whole number and a unit: `s` seconds, `min` minutes, `h` hours, `d` days,
`w` weeks, `m` months, `y` years (`30d`, `12w`, `6m`). Months and years are calendar
months (31 January + 1m = 28/29 February), so `--within 6m` means the same date whatever
today is. `m` is months, never minutes: a warranty window is counted in months, and a
script must not get a different answer from one command to the next.

Settings that hold a fixed number of seconds (`parse_span`) take the same grammar but refuse
`m` and `y`: a calendar month has no fixed length, and an old config's `15m` (once minutes)
must fail loudly rather than lock an account for fifteen months.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

D = TypeVar("D", date, datetime)

_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MONTHS = {"m": 1, "y": 12}
_RE = re.compile(r"([0-9]{1,6})\s*(s|min|h|d|w|m|y)", re.IGNORECASE)
# A setting's span may be written too long (`99999999d`): parsed whole, so the message can
# name the ten-year limit instead of calling it "not a duration".
_SPAN_RE = re.compile(r"([0-9]+)\s*(s|min|h|d|w|m|y)", re.IGNORECASE)
EXAMPLES = "e.g. 90min, 24h, 30d, 12w, 6m or 1y"


@dataclass(frozen=True)
class Duration:
    """A positive span: whole calendar months plus seconds."""

    months: int = 0
    seconds: int = 0

    def after(self, start: D) -> D:
        """`start` moved forward by this span."""
        return _add_months(start, self.months) + timedelta(seconds=self.seconds)

    def before(self, start: D) -> D:
        """`start` moved back by this span."""
        return _add_months(start, -self.months) - timedelta(seconds=self.seconds)


def parse_duration(raw: str) -> Duration:
    """`30d`, `12w`, `6m`, ... -> Duration; ValueError (saying what is accepted) otherwise.
    Zero and negative spans are refused: a window must have a length."""
    match = _RE.fullmatch(raw.strip())
    if match is None:
        raise ValueError(f"{raw!r} is not a duration ({EXAMPLES})")
    number, unit = int(match.group(1)), match.group(2).lower()
    if number == 0:
        raise ValueError(f"{raw!r} is not a duration: it must be longer than zero")
    if unit in _MONTHS:
        return Duration(months=number * _MONTHS[unit])
    return Duration(seconds=number * _SECONDS[unit])


# Ten years: longer than any login or retention anyone means, and far from the end of the
# calendar (`99999999d` from now is past year 9999, where datetime arithmetic fails).
MAX_SPAN_DAYS = 3650
SPAN_EXAMPLES = "e.g. 90s, 15min, 8h or 30d"


def parse_span(raw: object) -> int:
    """A fixed span in seconds for a setting: a duration without calendar units (`90s`,
    `15min`, `8h`, `30d`, `2w`), or a whole number of seconds (a TOML integer or digits).
    At least one second, at most ten years; ValueError saying what is accepted otherwise."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        seconds = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        seconds = int(raw.strip())
    elif isinstance(raw, str):
        match = _SPAN_RE.fullmatch(raw.strip())
        if match is None:
            raise ValueError(f"expected a duration ({SPAN_EXAMPLES})")
        number, unit = int(match.group(1)), match.group(2).lower()
        if unit in _MONTHS:
            hint = f"{number}min for minutes, " if unit == "m" else ""
            raise ValueError(
                f"{unit!r} is a calendar unit ({'months' if unit == 'm' else 'years'}) with no "
                f"fixed length; write {hint}days or weeks instead ({SPAN_EXAMPLES})"
            )
        seconds = number * _SECONDS[unit]
    else:
        raise ValueError(f"expected a duration ({SPAN_EXAMPLES})")
    if seconds < 1:
        raise ValueError("must be at least one second")
    if seconds > MAX_SPAN_DAYS * 86400:
        raise ValueError(f"must be at most {MAX_SPAN_DAYS}d (ten years)")
    return seconds


def _add_months(start: D, months: int) -> D:
    if not months:
        return start
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)
