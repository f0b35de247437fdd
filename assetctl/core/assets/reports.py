"""Reports for cron and CI: warranties running out, a summary of the inventory, and what
one person holds. Each returns rows (mappings) that any output writer can print; the CLI's
`--fail-if-any` turns "there are rows" into exit 1."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from assetctl.core.assets.commands import asset_record
from assetctl.core.assets.rules import UNASSIGNABLE
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.json_values import cents_to_decimal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.durations import Duration

WARRANTY_FIELDS = (
    "tag", "name", "category", "status", "assignee", "serial", "warranty_until", "days_left",
)  # fmt: skip
SUMMARY_FIELDS = ("dimension", "value", "count", "total_cost", "average_cost")
# What `report summary` counts by, in its order.
SUMMARY_DIMENSIONS = ("status", "category", "location")
ASSIGNMENT_FIELDS = ("tag", "name", "category", "serial", "model", "location", "assignee")
UNAUDITED_FIELDS = (
    "tag", "name", "category", "status", "location", "assignee", "serial", "last_audited_at",
    "audited_by", "days_since_audit",
)  # fmt: skip


def warranty_report(
    session: Session, caller: Principal, within: Duration, today: date | None = None
) -> list[dict[str, Any]]:
    """Assets still in service (not retired or lost) whose warranty ends within `within`
    from today or has already ended, soonest first. `days_left` is negative once ended."""
    require(caller, Permission.READ)
    from sqlalchemy import select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    start = today or datetime.now(UTC).date()
    end = within.after(start)
    stmt = (
        select(assets_table)
        .where(
            cols.deleted_at.is_(None),
            cols.status.not_in(UNASSIGNABLE),
            cols.warranty_until.is_not(None),
            cols.warranty_until <= end,
        )
        .order_by(cols.warranty_until, cols.tag)
    )
    rows = []
    for row in session.execute(stmt).mappings():
        record = asset_record(dict(row))
        record["days_left"] = (record["warranty_until"] - start).days
        rows.append(record)
    return rows


def summary_report(session: Session, caller: Principal) -> list[dict[str, Any]]:
    """Counts and purchase cost (total, average over the assets that have one) by status,
    category and location, then one `total` row. Deleted assets are not counted."""
    require(caller, Permission.READ)
    from sqlalchemy import func, select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    measures = (
        func.count(),
        func.sum(cols.purchase_cost_cents),
        func.count(cols.purchase_cost_cents),
    )
    live = cols.deleted_at.is_(None)
    rows: list[dict[str, Any]] = []
    for dimension in SUMMARY_DIMENSIONS:
        key = cols[dimension]
        stmt = select(key, *measures).where(live).group_by(key).order_by(key)
        rows += [_summary_row(dimension, r[0], r[1:]) for r in session.execute(stmt)]
    total = session.execute(select(*measures).where(live)).one()
    if total[0]:
        rows.append(_summary_row("total", None, tuple(total)))
    return rows


def _summary_row(dimension: str, value: Any, measures: tuple[Any, ...]) -> dict[str, Any]:
    count, cents, costed = measures
    total = cents_to_decimal(int(cents)) if cents is not None else None
    average = None if total is None else (total / costed).quantize(Decimal("0.01"))
    return {
        "dimension": dimension,
        "value": value,
        "count": int(count),
        "total_cost": total,
        "average_cost": average,
    }


def assignments_report(session: Session, caller: Principal, person: str) -> list[dict[str, Any]]:
    """The live assets assigned to `person` (compared case-insensitively), by tag."""
    require(caller, Permission.READ)
    from sqlalchemy import func, select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    stmt = (
        select(assets_table)
        .where(cols.deleted_at.is_(None), func.lower(cols.assignee) == person.lower())
        .order_by(cols.tag)
    )
    return [asset_record(dict(row)) for row in session.execute(stmt).mappings()]


def unaudited_report(
    session: Session,
    caller: Principal,
    older_than: Duration,
    location: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Live assets no audit has found within `older_than` (never audited ones first, then
    the longest unaudited), at `location` when given. `days_since_audit` is null for an
    asset never audited."""
    require(caller, Permission.READ)
    from sqlalchemy import or_, select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    moment = now or datetime.now(UTC)
    stmt = (
        select(assets_table)
        .where(
            cols.deleted_at.is_(None),
            or_(cols.last_audited_at.is_(None), cols.last_audited_at < older_than.before(moment)),
        )
        .order_by(cols.last_audited_at.is_not(None), cols.last_audited_at, cols.tag)
    )
    if location is not None:
        stmt = stmt.where(cols.location == location)
    rows = []
    for row in session.execute(stmt).mappings():
        record = asset_record(dict(row))
        audited = record["last_audited_at"]
        record["days_since_audit"] = None if audited is None else (moment - audited).days
        rows.append(record)
    return rows
