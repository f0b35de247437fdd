"""Closing an audit: its outcome applied to the assets in one transaction.

Every found asset (expected or not) gets `last_audited_at` (when it was first scanned in the
audit) and `audited_by` (who scanned it); with `move_found`, a found asset recorded at another
location is moved to the audit's location; with `mark_missing STATUS`, every expected asset
that was not found gets that status, under the status rules (`core/assets/rules.py`). Each
changed asset gets a version bump and one history event (`audited`, or `audit_missing`) through
the history machinery (`core/assets/history.py`; PostgreSQL's trigger), written with one
UPDATE per 500 assets so that closing an audit of thousands of assets takes seconds. If any
change is refused, nothing is written and the audit stays open: the close is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.assets import rules
from assetctl.core.audits.sessions import check_open, find_session, session_record
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.errors import AssetctlError, ConflictError, InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import AuditSession

CLOSE_FIELDS = ("audited", "moved", "marked", "mark_missing", "move_found")
# Shown by name in a refusal; the rest are counted.
_NAMED = 10
# Assets per UPDATE (bound values: two per asset and field, well under SQLite's limit).
_CHUNK = 500


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


def _lock_assets(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The live assets among `ids` (id -> row), locked, in id order (so two closes cannot
    deadlock); one deleted since it was expected or scanned is left alone."""
    from sqlalchemy import select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    locked: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        stmt = (
            select(assets_table)
            .where(cols.id.in_(chunk), cols.deleted_at.is_(None))
            .order_by(cols.id)
            .with_for_update()
        )
        locked.update((int(r["id"]), dict(r)) for r in session.execute(stmt).mappings())
    return locked


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _write(
    session: Session,
    changes: dict[int, dict[str, Any]],
    old: dict[int, dict[str, Any]],
    action: str,
    actor: str,
) -> None:
    """Set each asset's new values (id -> field -> value) with one UPDATE per chunk, bumping
    versions, and write one history event per asset (`action`): the SQL form of the asset
    commands' change path, for audits of thousands of assets. On PostgreSQL the history
    trigger writes the events; on SQLite `history.insert_events` does."""
    from sqlalchemy import bindparam, case, update

    from assetctl.core.assets.history import history_value, insert_events
    from assetctl.core.assets.schema import BY_NAME
    from assetctl.db.audit import announce
    from assetctl.db.tables import assets_table

    if not changes:
        return
    cols, now = assets_table.c, datetime.now(UTC)
    fields = sorted({f for values in changes.values() for f in values})
    announce(session, action, actor)
    for chunk in _chunks(sorted(changes)):
        # column = CASE id WHEN ... THEN value ... ELSE column END, for each field set.
        sets: dict[str, Any] = {
            BY_NAME[f].column: case(
                {i: bindparam(f"v{n}_{f}", changes[i][f], type_=cols[BY_NAME[f].column].type)
                 for n, i in enumerate(chunk) if f in changes[i]},
                value=cols.id, else_=cols[BY_NAME[f].column],
            )
            for f in fields
        }  # fmt: skip
        sets |= {"version": cols.version + 1, "updated_at": now, "updated_by": actor}
        session.execute(update(assets_table).where(cols.id.in_(chunk)).values(sets))
    events = []
    for asset_id, values in changes.items():
        diff = {
            f: {"old": history_value(f, old[asset_id][BY_NAME[f].column]),
                "new": history_value(f, v)}
            for f, v in values.items() if old[asset_id][BY_NAME[f].column] != v
        }  # fmt: skip
        events.append({"asset_id": asset_id, "action": action, "actor": actor, "at": now,
                       "changes": diff})  # fmt: skip
    insert_events(session, events)


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
    audited: dict[int, dict[str, Any]] = {}
    moved = 0
    for asset_id, at, by, expected in found:
        if asset_id not in assets:
            continue
        audited[asset_id] = {"last_audited_at": at, "audited_by": by}
        if move_found and not expected and assets[asset_id]["location"] != audit.location:
            audited[asset_id]["location"] = audit.location
            moved += 1
    _write(session, audited, assets, "audited", caller.email)
    # After the found assets are written, so a refusal here proves the close is one
    # transaction: everything above is rolled back with it.
    marked: dict[int, dict[str, Any]] = {}
    refused: list[str] = []
    for asset_id in missing:
        row = assets.get(asset_id)
        if row is None or row["status"] == new_status:
            continue
        try:
            rules.check_status_change(row["tag"], row["status"], str(new_status), row["assignee"])
        except AssetctlError:
            refused.append(f"{row['tag']} ({row['status']}, {row['assignee']})")
            continue
        marked[asset_id] = {"status": new_status}
    if refused:
        _refuse(audit, str(new_status), refused)
    _write(session, marked, assets, "audit_missing", caller.email)
    outcome = {"audited": len(audited), "moved": moved, "marked": len(marked),
               "mark_missing": new_status, "move_found": move_found}  # fmt: skip
    audit.status, audit.closed_at, audit.closed_by = "closed", datetime.now(UTC), caller.email
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
