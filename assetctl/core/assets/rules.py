"""The rulebook for an asset's state: which statuses exist and how status and assignee must
agree. Declared once, here; every path is held to it:

- `asset add/update/assign` call `check_state` (Python);
- the import's fast path asks `violation` per row, and the staging path selects the rows for
  which `violation_sql` names a rule (SQL over the staging table);
- the database's CHECK constraints (`STATUS_CHECK`, `ASSIGNMENT_CHECK`) refuse a violating
  row whoever writes it.

`tests/test_state_rules.py` runs one table of cases through every path on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assetctl.errors import AssetctlError, ConflictError, InvalidInputError

STATUSES = ("in_stock", "assigned", "in_repair", "retired", "lost")
# Statuses an asset cannot be assigned in.
UNASSIGNABLE = ("retired", "lost")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


@dataclass(frozen=True)
class Rule:
    """One way status and assignee can disagree."""

    code: str
    # The field a problem is reported on (an import names that column).
    field: str
    # Conflicts (exit 6) are states that exist but forbid the change; the others are bad
    # input (exit 2).
    conflict: bool
    message: str  # format fields: {status}, {assignee}
    broken: Callable[[str, str | None], bool]
    sql: str  # the same condition over SQL expressions {status} and {assignee}
    hint: str | None = None

    def error(self, status: str, assignee: str | None) -> AssetctlError:
        text = self.message.format(status=status, assignee=assignee)
        if self.conflict:
            return ConflictError(text, hint=self.hint)
        return InvalidInputError(text, hint=self.hint)


# Checked in this order: the first broken rule is the one reported.
RULES: tuple[Rule, ...] = (
    Rule(
        "needs_assignee",
        "status",
        conflict=False,
        message="status 'assigned' needs an assignee",
        broken=lambda status, assignee: status == "assigned" and assignee is None,
        sql="{status} = 'assigned' AND {assignee} IS NULL",
        hint="use `assetctl asset assign REF --to PERSON`",
    ),
    Rule(
        "unassignable",
        "assignee",
        conflict=True,
        message="a {status} asset cannot be assigned",
        broken=lambda status, assignee: assignee is not None and status in UNASSIGNABLE,
        sql=f"{{assignee}} IS NOT NULL AND {{status}} IN ({_quoted(UNASSIGNABLE)})",
    ),
    Rule(
        "assignee_needs_assigned",
        "status",
        conflict=False,
        message="an asset with an assignee must have status 'assigned', not {status!r}",
        broken=lambda status, assignee: assignee is not None and status != "assigned",
        sql="{assignee} IS NOT NULL AND {status} <> 'assigned'",
    ),
)
BY_CODE = {rule.code: rule for rule in RULES}

# The database's constraints on `assets`: no status outside the list, no row breaking a
# rule. Migrations spell out the text as it was when they were written.
STATUS_CHECK = f"status IN ({_quoted(STATUSES)})"
ASSIGNMENT_CHECK = (
    "NOT ("
    + " OR ".join(f"({rule.sql.format(status='status', assignee='assignee')})" for rule in RULES)
    + ")"
)


def default_status(assignee: str | None) -> str:
    """The status of a new asset that was given none."""
    return "assigned" if assignee is not None else "in_stock"


def default_status_sql(status: str, assignee: str) -> str:
    """`default_status` in SQL, keeping a given status."""
    return (
        f"COALESCE({status}, CASE WHEN {assignee} IS NOT NULL THEN 'assigned' ELSE 'in_stock' END)"
    )


def violation(status: str, assignee: str | None) -> Rule | None:
    """The first rule the pair breaks, or None."""
    for rule in RULES:
        if rule.broken(status, assignee):
            return rule
    return None


def check_state(status: str, assignee: str | None) -> None:
    """Raise the typed error of the first rule the pair breaks."""
    rule = violation(status, assignee)
    if rule is not None:
        raise rule.error(status, assignee)


def check_status_change(tag: str, old: str, new: str, assignee: str | None) -> None:
    """`asset update --status`: assigning and taking back have their own commands, which
    keep status and assignee in step."""
    if new == old:
        return
    if new == "assigned":
        raise InvalidInputError("use `assetctl asset assign REF --to PERSON` to assign an asset")
    if old == "assigned":
        raise ConflictError(
            f"asset {tag} is assigned to {assignee}",
            hint=f"run `assetctl asset unassign {tag}` first",
        )


def violation_sql(status: str, assignee: str) -> str:
    """A SQL expression naming (by code) the first rule the pair breaks, else NULL."""
    whens = " ".join(
        f"WHEN {rule.sql.format(status=status, assignee=assignee)} THEN '{rule.code}'"
        for rule in RULES
    )
    return f"CASE {whens} END"
