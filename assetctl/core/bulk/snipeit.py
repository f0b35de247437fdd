"""Snipe-IT's asset columns -> assetctl fields.

Snipe-IT's CSV importer (`app/Livewire/Importer.php`: the asset columns and their aliases),
its UI export and its custom asset report name the same things in slightly different words;
every spelling is compared normalised (`reader.normal`). A column is one of:

- an asset field, by the catalogue's `snipeit=` aliases (`schema.SNIPEIT_HEADERS`);
- a role this module turns into fields: the checkout columns -> `assignee` (email, else
  username) and status `assigned`, or `location` for a checkout to a location; `Warranty`
  months and the EOL date -> `warranty_until` when `Warranty Expires` is empty;
- dropped, with the reason the import summary gives (Snipe-IT's own ids and timestamps);
- anything else (Company, Supplier, Order Number, Model No., BYOD, custom fields, ...): kept,
  one `Column: value` line each, in a labelled block at the end of `notes`.

Status labels map through `STATUSES` and `--status-map 'Label=status'`; a label with no
mapping is a listed problem naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from assetctl.core.assets.rules import STATUSES as OUR_STATUSES
from assetctl.core.assets.schema import SNIPEIT_HEADERS

if TYPE_CHECKING:
    from assetctl.core.bulk.reader import Problem

ROLE = "@"  # prefix of a role key in a raw row
NOTE = "#"  # prefix of a column kept in the notes block (followed by its header)
NOTES_LABEL = "-- Snipe-IT --"  # first line of the notes block

# Snipe-IT's default status labels -> our statuses (our own names pass through too).
STATUSES: dict[str, str] = {
    "ready to deploy": "in_stock",
    "pending": "in_stock",
    "deployable": "in_stock",
    "deployed": "assigned",
    "out for repair": "in_repair",
    "out for diagnostics": "in_repair",
    "broken": "in_repair",
    "broken - not fixable": "retired",
    "archived": "retired",
    "undeployable": "retired",
    "lost/stolen": "lost",
    "lost": "lost",
    "stolen": "lost",
} | {status: status for status in OUR_STATUSES}

# Normalised header -> role. The importer's keys, its English labels and its aliases.
_ROLES: dict[str, str] = {
    **dict.fromkeys(("checkout_type", "checkout_class"), "class"),
    **dict.fromkeys(("checked_out_to_email", "email", "e_mail"), "email"),
    **dict.fromkeys(("checked_out_to_username", "username"), "username"),
    **dict.fromkeys(("checked_out_to_first_name", "first_name"), "first_name"),
    **dict.fromkeys(("checked_out_to_last_name", "last_name", "lastname"), "last_name"),
    **dict.fromkeys(
        ("checked_out_to_full_name", "full_name", "fullname", "checked_out_to", "assigned_to"),
        "full_name",
    ),
    **dict.fromkeys(("checkout_to_location", "checkout_location"), "checkout_location"),
    **dict.fromkeys(("warranty", "warranty_months"), "warranty_months"),
    **dict.fromkeys(("asset_eol_date", "eol_date", "eol"), "eol"),
}
# Roles read but not kept themselves -> why (the import summary says it).
NOT_KEPT: dict[str, str] = {
    ROLE + "class": "decides between a checkout to a person and one to a location",
    ROLE + "first_name": "assignees are recorded by email or username",
    ROLE + "last_name": "assignees are recorded by email or username",
    ROLE + "full_name": "assignees are recorded by email or username",
}
# Normalised header -> why the column is dropped.
_DROPPED: dict[str, str] = {
    "id": "Snipe-IT's own record number; assetctl numbers assets itself",
    "created_at": "assetctl records when each asset was created or changed in its history",
    "updated_at": "assetctl records when each asset was created or changed in its history",
    "deleted_at": "assetctl records when each asset was created or changed in its history",
    "age": "computed by Snipe-IT from the purchase date",
    "current_value": "computed by Snipe-IT's depreciation",
    "book_value": "computed by Snipe-IT's depreciation",
}
# Names shown for a missing required column of a Snipe-IT file.
HEADER_OF = {"tag": "Asset Tag", "name": "Asset Name", "category": "Category"}
_COST_JUNK = re.compile(r"[\s$€£¥]")
_WARRANTY_ROLES = frozenset(("warranty_months", "eol"))
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTHS = re.compile(r"(\d{1,3})(?:\s*months?)?", re.IGNORECASE)


_STATUS_META = re.compile(r"\s*\((deployed|deployable|pending|archived|undeployable)\)\s*$", re.I)


def looks_like(names: list[str]) -> bool:
    """Whether a header (normalised) is Snipe-IT's."""
    return "asset_tag" in names


def key_of(name: str) -> str | None:
    """The raw-row key of a normalised Snipe-IT header: a field, a role (ROLE + role), NOTE
    for a column kept in notes, or None for a dropped one."""
    field = SNIPEIT_HEADERS.get(name)
    if field is not None:
        return field
    role = _ROLES.get(name)
    if role is not None:
        return ROLE + role
    return None if name in _DROPPED else NOTE


def dropped_reason(name: str) -> str:
    return _DROPPED[name]


def _add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover - day 28 exists in every month


class Converter:
    """One raw Snipe-IT row (field, role and note keys) -> asset fields, in place."""

    def __init__(
        self,
        columns: Mapping[str, str],
        statuses: Mapping[str, str],
        problems: list[Problem],
        *,
        decimal_comma: bool = False,
    ) -> None:
        self.columns = columns  # key -> header as the file spells it
        self.statuses = {**STATUSES, **statuses}
        self.labels: dict[str, str | None] = {}  # label as written -> status (memo)
        self.problems = problems
        self.roles = [(k, k[len(ROLE) :]) for k in columns if k.startswith(ROLE)]
        self.notes = [(k, k[len(NOTE) :]) for k in columns if k.startswith(NOTE)]
        self.status = "status" in columns
        self.cost = "purchase_cost" in columns
        self.thousands = "" if decimal_comma else ","  # the separator a cost may hold

    def __call__(self, line: int, values: dict[str, str | None]) -> dict[str, str | None]:
        # Runs for every row of a Snipe-IT file: plain loops and memos, no regex on the
        # common path (the import benchmark holds it to 1.3x our own CSV).
        pop = values.pop
        role = {name: cell.strip() for key, name in self.roles if (cell := pop(key))}
        kept = [f"{label}: {text.strip()}" for key, label in self.notes
                if (text := pop(key)) and not text.isspace()]  # fmt: skip
        if self.status:
            label = values["status"]
            if label:
                status = self.labels.get(label)
                if status is None:
                    status = self._status(line, label)
                values["status"] = status
        if self.cost:
            cost = values["purchase_cost"]
            if cost:
                if self.thousands and self.thousands in cost:
                    cost = cost.replace(",", "")
                if not (cost[0].isdigit() and cost[-1].isdigit()):
                    cost = _COST_JUNK.sub("", cost)
                values["purchase_cost"] = cost
        if role:
            if not role.keys() <= _WARRANTY_ROLES:
                self._checkout(line, values, role)
            if not role.keys().isdisjoint(_WARRANTY_ROLES):
                kept += self._warranty(values, role)
        if kept:
            notes = (values.get("notes") or "").strip()
            block = "\n".join([NOTES_LABEL, *kept])
            values["notes"] = f"{notes}\n\n{block}" if notes else block
        return values

    def _status(self, line: int, label: str) -> str | None:
        if label.isspace():
            return None  # an empty status means the default
        # Snipe-IT's custom asset report writes "Ready to Deploy (deployable)": the label
        # with its status type (ReportsController). The label decides, as in other files.
        label = _STATUS_META.sub("", label)
        key = label.strip().lower()
        status = self.statuses.get(key)
        if status is None and key.endswith(" deployed"):
            # The UI export's text of a checked-out asset's Status cell: its label, then
            # the "Deployed" badge (bootstrap-table's status formatter).
            status = self.statuses.get(key.removesuffix(" deployed").strip())
        if status is None:
            from assetctl.core.bulk.reader import Problem

            self.problems.append(
                Problem(
                    line,
                    self.columns["status"],
                    label,
                    f"Snipe-IT status label {label.strip()!r} has no assetctl status; pass "
                    f"--status-map '{label.strip()}=STATUS' ({', '.join(OUR_STATUSES)})",
                )
            )
        else:
            self.labels[label] = status  # only good labels: each bad row gets its problem
        return status

    def _checkout(self, line: int, values: dict[str, str | None], role: dict[str, str]) -> None:
        kind = role.get("class", "").lower()
        place = role.get("checkout_location", "")
        if kind == "location" or (place and kind != "user"):
            if place:
                values["location"] = place
            return
        person = role.get("email") or role.get("username")
        if person:
            values["assignee"] = person
            if values.get("status") in (None, "", "in_stock"):
                values["status"] = "assigned"
            return
        name = role.get("full_name") or " ".join(
            n for n in (role.get("first_name"), role.get("last_name")) if n
        )
        if name:
            from assetctl.core.bulk.reader import Problem

            column = next(
                self.columns[ROLE + r]
                for r in ("full_name", "first_name", "last_name")
                if role.get(r)
            )
            self.problems.append(
                Problem(
                    line,
                    column,
                    name,
                    f"checked out to {name!r}, but the row has neither an email nor a "
                    "username; assetctl records the assignee by one of them (add a "
                    "'Checked Out to: Email' or 'Checked Out to: Username' column)",
                )
            )

    def _warranty(self, values: dict[str, str | None], role: dict[str, str]) -> list[str]:
        """warranty_until from Warranty Expires, else purchase date + Warranty months, else
        the EOL date; a source not used is kept in the notes block."""
        kept: list[str] = []
        months, eol = role.get("warranty_months", ""), role.get("eol", "")
        until = (values.get("warranty_until") or "").strip()
        if months and not until:
            bought = _ISO.match((values.get("purchase_date") or "").strip())
            count = _MONTHS.fullmatch(months)
            if bought and count:
                try:
                    start = date(*map(int, bought.groups()))
                except ValueError:
                    start = None  # the date's own parser reports it
                if start is not None:
                    until = _add_months(start, int(count.group(1))).isoformat()
                    values["warranty_until"] = until
                    months = ""
        if eol and not until:
            values["warranty_until"] = eol
            eol = ""
        if months:
            kept.append(f"{self.columns[ROLE + 'warranty_months']}: {months}")
        if eol:
            kept.append(f"{self.columns[ROLE + 'eol']}: {eol}")
        return kept
