"""Closing an audit: its outcome applied to the assets in one transaction.

Every found asset (expected or not) gets `last_audited_at` (when it was first scanned in the
audit) and `audited_by` (who scanned it); with `move_found`, a found asset recorded at another
location is moved to the audit's location; with `mark_missing STATUS`, every expected asset
that was not found gets that status. Each asset changes through the asset commands' one change
path (version bump, one history event: `audited`, or `audit_missing`), under the status rules
(`core/assets/rules.py`). If any change is refused, nothing is written and the audit stays
open: the close is one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.assets import rules
from assetctl.core.assets.commands import apply_changes
from assetctl.core.audits.sessions import check_open, find_session, session_record
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.errors import AssetctlError, ConflictError, InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import Asset, AuditSession

CLOSE_FIELDS = ("audited", "moved", "marked", "mark_missing", "move_found")
# Shown by name in a refusal; the rest are counted.
_NAMED = 10


def check_mark_missing(status: str | None) -> str | None:
    """The status `--mark-missing` sets (exit 2 for one that is not a status, or one a
    missing asset cannot take: `assigned` needs a person)."""
    if status is None:
        return None
    from assetctl.core.assets.fields import PARSERS

    value: str = PARSERS["status"](status)
    if value == "assigned":
        raise InvalidInputError(
            "--mark-missing cannot set 'assigned' (an assignment needs a person)",
            hint="use --mark-missing lost",
        )
    return value


def _found(session: Session, audit_id: int) -> list[tuple[int, datetime, str, bool]]:
    """(asset id, first scanned at, by, expected) of every asset the audit found."""
    from sqlalchemy import and_, exists, select

    from assetctl.db.models import AuditExpected, AuditFound

    expected = exists().where(
        and_(AuditExpected.session_id == audit_id, AuditExpected.asset_id == AuditFound.asset_id)
    )
    stmt = (
        select(AuditFound.asset_id, AuditFound.found_at, AuditFound.found_by, expected)
        .where(AuditFound.session_id == audit_id)
        .order_by(AuditFound.asset_id)
    )
    return [(int(i), at, by, bool(e)) for i, at, by, e in session.execute(stmt)]


def _missing(session: Session, audit_id: int) -> list[int]:
    from sqlalchemy import and_, exists, select

    from assetctl.db.models import AuditExpected, AuditFound

    found = exists().where(
        and_(AuditFound.session_id == audit_id, AuditFound.asset_id == AuditExpected.asset_id)
    )
    stmt = (
        select(AuditExpected.asset_id)
        .where(AuditExpected.session_id == audit_id, ~found)
        .order_by(AuditExpected.asset_id)
    )
    return [int(i) for i in session.execute(stmt).scalars()]


def _lock_assets(session: Session, ids: list[int]) -> dict[int, Asset]:
    """The live assets among `ids`, locked, in id order (so two closes cannot deadlock);
    one that was deleted since it was scanned or expected is left alone."""
    from sqlalchemy import select

    from assetctl.db.models import Asset, assets_table

    cols = assets_table.c
    assets: dict[int, Asset] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        stmt = (
            select(Asset)
            .where(cols.id.in_(chunk), cols.deleted_at.is_(None))
            .order_by(cols.id)
            .with_for_update()
        )
        assets.update((a.id, a) for a in session.execute(stmt).scalars())
    return assets


def close_audit(
    session: Session,
    caller: Principal,
    audit_id: int,
    *,
    mark_missing: str | None = None,
    move_found: bool = False,
) -> dict[str, Any]:
    """Apply the audit's outcome (see the module) and close it, in one transaction: exit 3
    for no such audit, 6 if it is already closed or a change is refused (then nothing is
    written). Returns the audit (SESSION_FIELDS) and what was done (CLOSE_FIELDS)."""
    require(caller, Permission.WRITE)
    new_status = check_mark_missing(mark_missing)
    audit = find_session(session, audit_id, lock="update")
    check_open(audit)
    found = _found(session, audit_id)
    missing = _missing(session, audit_id) if new_status else []
    assets = _lock_assets(session, sorted({i for i, *_ in found} | set(missing)))
    actor = caller.email
    audited = moved = marked = 0
    for asset_id, at, by, expected in found:
        asset = assets.get(asset_id)
        if asset is None:
            continue
        values: dict[str, Any] = {"last_audited_at": at, "audited_by": by}
        if move_found and not expected and asset.location != audit.location:
            values["location"] = audit.location
            moved += 1
        apply_changes(session, asset, values, "audited", actor)
        audited += 1
    refused: list[str] = []
    for asset_id in missing:
        asset = assets.get(asset_id)
        if asset is None or asset.status == new_status:
            continue
        try:
            rules.check_status_change(asset.tag, asset.status, str(new_status), asset.assignee)
        except AssetctlError:
            refused.append(f"{asset.tag} ({asset.status}, {asset.assignee})")
            continue
        apply_changes(session, asset, {"status": new_status}, "audit_missing", actor)
        marked += 1
    if refused:
        _refuse(audit, str(new_status), refused)
    outcome = {"audited": audited, "moved": moved, "marked": marked,
               "mark_missing": new_status, "move_found": move_found}  # fmt: skip
    audit.status, audit.closed_at, audit.closed_by = "closed", datetime.now(UTC), actor
    audit.outcome = outcome
    session.flush()
    return {**session_record(session, audit), **outcome}


def _refuse(audit: AuditSession, status: str, refused: list[str]) -> None:
    """Exit 6 naming the missing assets that may not take `status` (assigned ones must be
    unassigned first); the transaction, with every change made so far, is rolled back."""
    named = ", ".join(refused[:_NAMED])
    more = f" and {len(refused) - _NAMED} more" if len(refused) > _NAMED else ""
    raise ConflictError(
        f"audit {audit.id} was not closed: {len(refused)} missing asset(s) are assigned and "
        f"cannot be marked {status}: {named}{more}",
        hint="unassign them first (`assetctl asset unassign TAG`), or close without --mark-missing",
    )
