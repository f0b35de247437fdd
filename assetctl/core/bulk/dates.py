"""Dates in import files: ISO always; `--date-format`; otherwise one file-wide guess.

ISO dates (`2023-01-23`, also with a time, as Snipe-IT writes `2023-01-23 00:00:00`) are
always read. Other numeric dates (`1/23/23`, `23.01.2023`) are month-first (US) or day-first.
Without `--date-format`, each date column is guessed once for the whole file: only when every
such date in it fits exactly one of the two forms. A column whose dates all fit both forms is
ambiguous, and one that has dates fitting only month-first and others fitting only day-first
is mixed: then every such line is a listed problem asking for `--date-format`, and so is each
date that fits neither form.

The guess needs the whole column, but reading the file twice would cost every import. So
the first pass reads undecided dates month-first (the form of Snipe-IT's and US exports) and
tallies which forms each date fits (`Guess`). If at the end a column turns out not to be
month-first, `Guess.settle` raises `Reread` with the forms now known, and the importer rolls
the attempt back and reads the file again with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from assetctl.errors import InvalidInputError

# A date, optionally with a time of day (and zone), as Snipe-IT and databases write them.
_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_NUMERIC = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})")


class Form(StrEnum):
    """How a column's numeric dates are read."""

    US = "month/day/year"
    DAY_FIRST = "day/month/year"
    AMBIGUOUS = "ambiguous"  # every date fits both forms
    MIXED = "mixed"  # some fit only one form, others only the other


class Reread(Exception):
    """The first pass read a date column in the wrong form: read the file again with
    `forms`."""

    def __init__(self, forms: dict[str, Form]) -> None:
        super().__init__("date forms settled")
        self.forms = forms


def _year(text: str) -> int:
    # As strptime's %y: 69-99 are 1900s, 00-68 are 2000s.
    year = int(text)
    if len(text) == 2:
        year += 1900 if year >= 69 else 2000
    return year


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _both(text: str) -> tuple[date | None, date | None] | None:
    """(as month-first, as day-first) of a numeric date; None if it is not one."""
    match = _NUMERIC.fullmatch(text)
    if match is None:
        return None
    first, _, second, year = match.groups()
    y = _year(year)
    return _make(y, int(first), int(second)), _make(y, int(second), int(first))


@dataclass
class _Tally:
    us_only: int = 0
    day_only: int = 0
    both: int = 0

    def form(self) -> Form | None:
        if self.us_only and self.day_only:
            return Form.MIXED
        if self.us_only:
            return Form.US
        if self.day_only:
            return Form.DAY_FIRST
        return Form.AMBIGUOUS if self.both else None


@dataclass
class Guess:
    """Tallies of the undecided numeric dates of each column, kept during the first pass."""

    tallies: dict[str, _Tally] = field(default_factory=dict)

    def read(self, column: str, us: date | None, day: date | None) -> date:
        """Record a date that fits at least one form; return it read month-first if it can
        be (the first pass's assumption)."""
        tally = self.tallies.setdefault(column, _Tally())
        if us and day:
            tally.both += 1
        elif us:
            tally.us_only += 1
        else:
            tally.day_only += 1
        result = us or day
        assert result is not None  # the caller passes dates that fit a form
        return result

    def settle(self) -> None:
        """After the last row: raise Reread unless every tallied column is month-first."""
        forms = {c: f for c, t in self.tallies.items() if (f := t.form()) is not None}
        if any(form is not Form.US for form in forms.values()):
            raise Reread(forms)


def parser(field: str, fmt: str | None, form: Form | Guess) -> Callable[[str], date]:
    """The import parser of date field `field`: ISO, then `fmt` (--date-format), then the
    column's settled `form`, or, in a first pass, the `Guess` being tallied."""

    def parse(raw: str) -> date:
        text = raw.strip()
        match = _ISO.fullmatch(text)
        if match is not None:
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:
                raise InvalidInputError(
                    f"{field} {text!r} is not a calendar date", hint="use YYYY-MM-DD"
                ) from None
        if fmt is not None:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                raise InvalidInputError(
                    f"{field} {text!r} does not match --date-format {fmt}"
                ) from None
        pair = _both(text)
        if pair is None:
            raise InvalidInputError(
                f"{field} {text!r} is not a date",
                hint="use YYYY-MM-DD, or pass --date-format (e.g. %m/%d/%y or %d.%m.%Y)",
            )
        us, day = pair
        if us is None and day is None:
            raise InvalidInputError(
                f"{field} {text!r} is not a date as month/day/year nor as day/month/year"
            )
        if isinstance(form, Guess):
            return form.read(field, us, day)
        if form is Form.US and us is not None:
            return us
        if form is Form.DAY_FIRST and day is not None:
            return day
        if form is Form.AMBIGUOUS:
            reason = "could be month/day/year or day/month/year, and no date in the column tells"
        elif form is Form.MIXED:
            reason = (
                "the column has dates that fit only month/day/year and others that fit only "
                "day/month/year"
            )
        else:  # the form fits the rest of the column, not this date
            reason = f"is not a date as {form}, which the rest of the column uses"
        raise InvalidInputError(
            f"{field} {text!r}: {reason}",
            hint="pass --date-format, e.g. %m/%d/%y (US) or %d/%m/%y",
        )

    return parse


def check_format(fmt: str) -> str:
    """A --date-format must name day, month and year."""
    month = any(m in fmt for m in ("%m", "%b", "%B"))
    if "%d" not in fmt or not month or not ("%y" in fmt or "%Y" in fmt):
        raise InvalidInputError(
            f"--date-format {fmt!r} must name the day (%d), month (%m, %b) and year (%y, %Y)",
            hint="e.g. %m/%d/%y or %d.%m.%Y",
        )
    return fmt
