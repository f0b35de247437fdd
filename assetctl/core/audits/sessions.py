"""Audit sessions: start one (snapshotting the assets it expects), find one, count what it
found, list them, and show an audit's found / missing / unexpected assets and unknown codes.

The expected set is taken when the audit starts: every non-deleted asset at the location
(and of the category, when given). Assets moved in or out later do not change it, so an
audit that runs for days compares the floor with the inventory as it was when the walk
began; an asset moved in afterwards and scanned shows up as unexpected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.errors import ConflictError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import AuditSession

SESSION_FIELDS = (
    "id", "location", "category", "status", "expected", "found", "missing", "unexpected",
    "unknown", "scans", "started_at", "started_by", "closed_at", "closed_by", "outcome",
)  # fmt: skip
# The table's columns (a terminal's width): every field is in -o json/csv/tsv.
SESSION_COLUMNS = (
    "id", "location", "category", "status", "found", "expected", "missing", "unexpected",
    "unknown", "started_at",
)  # fmt: skip
# One row of `audit status`: an asset (found, missing, unexpected) or an unknown code.
STATUS_FIELDS = (
    "result", "tag", "name", "category", "status", "serial", "location", "assignee", "code",
    "scans", "by", "at",
)  # fmt: skip
STATUS_COLUMNS = ("result", "tag", "name", "serial", "location", "code", "scans", "by", "at")
RESULTS = ("found", "missing", "unexpected", "unknown")

Lock = Literal["share", "update"] | None


def find_session(session: Session, audit_id: int, *, lock: Lock = None) -> AuditSession:
    """The audit session `audit_id` (exit 3 if there is none). `lock="share"` holds it open
    while codes are recorded (a close waits for them); `"update"` is the close's own lock."""
    from sqlalchemy import select

    from assetctl.db.models import AuditSession

    stmt = select(AuditSession).where(AuditSession.id == audit_id)
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share")
    found = session.execute(stmt).scalar_one_or_none() if 0 < audit_id < 2**63 else None
    if found is None:
        raise NotFoundError(f"no audit session {audit_id}", hint="see `assetctl audit list`")
    return found


def check_open(audit: AuditSession) -> None:
    """Exit 6 for a closed audit: nothing more may be recorded in it or applied from it."""
    if audit.status != "open":
        stamp = audit.closed_at.strftime("%Y-%m-%d %H:%M UTC") if audit.closed_at else "?"
        raise ConflictError(
            f"audit {audit.id} was closed on {stamp} by {audit.closed_by}",
            hint="start a new one with `assetctl audit start --location L`",
        )


def start_audit(
    session: Session, caller: Principal, location: str, category: str | None
) -> dict[str, Any]:
    """Open an audit of `location` (values as stored: parsed by the asset field parsers)
    whose expected set is every non-deleted asset there, of `category` when given."""
    require(caller, Permission.WRITE)
    from sqlalchemy import insert, literal, select

    from assetctl.db.audit_tables import audit_expected, audit_sessions
    from assetctl.db.models import AuditSession
    from assetctl.db.tables import assets_table

    cols = assets_table.c
    new = {
        "location": location, "category": category, "status": "open",
        "started_at": datetime.now(UTC), "started_by": caller.email,
    }  # fmt: skip
    stmt = insert(audit_sessions).values(new).returning(AuditSession.id)
    audit_id = int(session.execute(stmt).scalar_one())
    match = select(literal(audit_id), cols.id).where(
        cols.deleted_at.is_(None), cols.location == location
    )
    if category is not None:
        match = match.where(cols.category == category)
    session.execute(insert(audit_expected).from_select(["session_id", "asset_id"], match))
    return session_record(session, find_session(session, audit_id))


def _counts(session: Session, audit_ids: list[int]) -> dict[int, dict[str, int]]:
    """expected / found / missing / unexpected / unknown / scans of each audit."""
    from sqlalchemy import and_, distinct, exists, func, select

    from assetctl.db.models import AuditExpected, AuditFound, AuditScan

    counts = {i: dict.fromkeys(("expected", "found", "unexpected", "unknown", "scans"), 0)
              for i in audit_ids}  # fmt: skip
    if not audit_ids:
        return counts
    is_expected = exists().where(
        and_(AuditExpected.session_id == AuditFound.session_id,
             AuditExpected.asset_id == AuditFound.asset_id)
    )  # fmt: skip
    queries = {
        "expected": select(AuditExpected.session_id, func.count())
        .where(AuditExpected.session_id.in_(audit_ids))
        .group_by(AuditExpected.session_id),
        "found": select(AuditFound.session_id, func.count())
        .where(AuditFound.session_id.in_(audit_ids), is_expected)
        .group_by(AuditFound.session_id),
        "unexpected": select(AuditFound.session_id, func.count())
        .where(AuditFound.session_id.in_(audit_ids), ~is_expected)
        .group_by(AuditFound.session_id),
        "unknown": select(AuditScan.session_id, func.count(distinct(AuditScan.code)))
        .where(AuditScan.session_id.in_(audit_ids), AuditScan.result == "unknown")
        .group_by(AuditScan.session_id),
        "scans": select(AuditScan.session_id, func.count())
        .where(AuditScan.session_id.in_(audit_ids))
        .group_by(AuditScan.session_id),
    }
    for name, query in queries.items():
        for audit_id, count in session.execute(query):
            counts[int(audit_id)][name] = int(count)
    for numbers in counts.values():
        numbers["missing"] = numbers["expected"] - numbers["found"]
    return counts


def _record(audit: AuditSession, counts: Mapping[str, int]) -> dict[str, Any]:
    return {
        "id": audit.id, "location": audit.location, "category": audit.category,
        "status": audit.status, **{k: counts[k] for k in SESSION_FIELDS if k in counts},
        "started_at": audit.started_at, "started_by": audit.started_by,
        "closed_at": audit.closed_at, "closed_by": audit.closed_by, "outcome": audit.outcome,
    }  # fmt: skip


def session_record(session: Session, audit: AuditSession) -> dict[str, Any]:
    """The public representation of an audit session with its counts (SESSION_FIELDS)."""
    return _record(audit, _counts(session, [audit.id])[audit.id])


def list_audits(
    session: Session, caller: Principal, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """The newest `limit` audits (open or closed ones only, when `status` says), with their
    counts."""
    require(caller, Permission.READ)
    from sqlalchemy import select

    from assetctl.db.models import AuditSession

    stmt = select(AuditSession).order_by(AuditSession.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(AuditSession.status == status)
    audits = list(session.execute(stmt).scalars())
    counts = _counts(session, [a.id for a in audits])
    return [_record(a, counts[a.id]) for a in audits]


def audit_status(
    session: Session, caller: Principal, audit_id: int, only: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The audit (SESSION_FIELDS) and its rows (STATUS_FIELDS): found, missing and
    unexpected assets by tag, then unknown codes; only those of result `only` if given."""
    require(caller, Permission.READ)
    audit = find_session(session, audit_id)
    rows = _asset_rows(session, audit_id, [r for r in RESULTS[:3] if only in (None, r)])
    if only in (None, "unknown"):
        rows += _unknown_rows(session, audit_id)
    return session_record(session, audit), rows


def _asset_rows(session: Session, audit_id: int, results: list[str]) -> list[dict[str, Any]]:
    """Found, missing or unexpected assets. The sets are read with one indexed query each
    and combined here: joins between a just-filled audit table and the inventory are where
    the planner, with no statistics on the new rows yet, picks quadratic plans."""
    from sqlalchemy import func, select

    from assetctl.db.models import AuditExpected, AuditFound, AuditScan
    from assetctl.db.tables import assets_table

    if not results:
        return []
    expected = set(
        session.execute(
            select(AuditExpected.asset_id).where(AuditExpected.session_id == audit_id)
        ).scalars()
    )
    found = {
        int(i): (by, at)
        for i, by, at in session.execute(
            select(AuditFound.asset_id, AuditFound.found_by, AuditFound.found_at).where(
                AuditFound.session_id == audit_id
            )
        )
    }
    scans = dict(
        session.execute(
            select(AuditScan.asset_id, func.count())
            .where(AuditScan.session_id == audit_id, AuditScan.asset_id.is_not(None))
            .group_by(AuditScan.asset_id)
        ).all()
    )
    ids = {
        "found": found.keys() & expected,
        "missing": expected - found.keys(),
        "unexpected": found.keys() - expected,
    }
    cols, wanted = assets_table.c, sorted(set().union(*(ids[r] for r in results)))
    assets: dict[int, Any] = {}
    for start in range(0, len(wanted), 500):
        stmt = select(assets_table).where(cols.id.in_(wanted[start : start + 500]))
        assets.update((int(r["id"]), r) for r in session.execute(stmt).mappings())
    rows = []
    for result in results:
        for i in sorted(ids[result], key=lambda i: (assets[i]["tag"], i)):
            by, at = found.get(i, (None, None))
            row = assets[i]
            fields = {f: row[f] for f in STATUS_FIELDS[1:8]}
            rows.append({"result": result, **fields, "code": None,
                         "scans": int(scans.get(i, 0)), "by": by, "at": at})  # fmt: skip
    return rows


def _unknown_rows(session: Session, audit_id: int) -> list[dict[str, Any]]:
    """Each code that named no asset, once, with how often and first by whom and when."""
    from sqlalchemy import func, select

    from assetctl.db.models import AuditScan

    first = (
        select(AuditScan.code, func.min(AuditScan.id).label("first"), func.count().label("n"))
        .where(AuditScan.session_id == audit_id, AuditScan.result == "unknown")
        .group_by(AuditScan.code)
        .subquery()
    )
    stmt = (
        select(first.c.code, first.c.n, AuditScan.scanned_by, AuditScan.scanned_at)
        .join(AuditScan, AuditScan.id == first.c.first)
        .order_by(first.c.code)
    )
    empty = dict.fromkeys(STATUS_FIELDS[1:8])
    return [
        {"result": "unknown", **empty, "code": code, "scans": int(n), "by": by, "at": at}
        for code, n, by, at in session.execute(stmt)
    ]
