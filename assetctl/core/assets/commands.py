"""Asset inventory service: add, show, list, update, delete/restore, assign/unassign.

Each public function is one command's unit of work: it opens one transaction, applies the
lifecycle rules, writes a history event for every change in that same transaction
(`history.py`), and commits once. Errors are typed (see `assetctl.errors`); nothing here
prints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.assets import rules
from assetctl.core.assets.history import history_value, insert_events, record_event
from assetctl.core.assets.lookup import check_unique, resolve, resolve_row
from assetctl.core.assets.schema import BY_NAME, Kind
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.db.audit import announce
from assetctl.errors import ConflictError, InvalidInputError, NotFoundError
from assetctl.json_values import cents_to_decimal, wire

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.core.assets.listing import Filters, Page, Sort
    from assetctl.db.models import Asset


@dataclass(frozen=True)
class Change:
    """What a write did: the asset after it, and whether anything changed."""

    asset: dict[str, Any]
    changed: bool


# (field, column) in JSON order, and the money fields: asset_record runs once per row of a
# listing or an export, so it does no per-field lookups.
_COLUMNS = tuple((f.name, f.column) for f in BY_NAME.values())
_MONEY = tuple(f.name for f in BY_NAME.values() if f.kind is Kind.MONEY)


def asset_record(row: Mapping[str, Any] | Asset) -> dict[str, Any]:
    """The public representation of an asset (a DB row mapping or a model instance)."""
    get = row.get if isinstance(row, Mapping) else lambda key: getattr(row, key)
    record = {name: get(column) for name, column in _COLUMNS}
    for name in _MONEY:
        record[name] = cents_to_decimal(record[name])
    return record


def _flush(session: Session, asset: Asset) -> None:
    """Flush, turning constraint races and stale versions into exit-6 conflicts."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    try:
        session.flush()
    except StaleDataError:
        raise ConflictError(
            "the asset was changed by someone else while this command ran",
            hint="show it again and retry",
        ) from None
    except IntegrityError as exc:
        # Which rule a concurrent writer beat us to: PostgreSQL names the index, SQLite the
        # column ("UNIQUE constraint failed: assets.serial"); never the values' text.
        diag = getattr(exc.orig, "diag", None)
        rule = getattr(diag, "constraint_name", None) or str(exc.orig).split("\n")[0]
        field = "serial" if "serial" in rule else "tag"
        raise ConflictError(
            f"{field} {getattr(asset, field)!r} was just taken by another asset",
            hint="another command saved it at the same moment; pick another value",
        ) from None


def add_asset(session: Session, caller: Principal, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Create an asset from parsed fields (see `fields.parse_fields`)."""
    require(caller, Permission.WRITE)
    actor = caller.email
    from assetctl.db.models import Asset

    values = dict(fields)
    assignee = values.get("assignee")
    status = values.get("status") or rules.default_status(assignee)
    values["status"] = status
    rules.check_state(status, assignee)
    check_unique(session, values["tag"], values.get("serial"), None)

    now = datetime.now(UTC)
    asset = Asset(created_at=now, updated_at=now, created_by=actor, updated_by=actor)
    changes: dict[str, Any] = {}
    for field, value in values.items():
        setattr(asset, BY_NAME[field].column, value)
        changes[field] = {"old": None, "new": history_value(field, value)}
    session.add(asset)
    announce(session, "created", actor)
    _flush(session, asset)
    record_event(session, asset, "created", actor, changes, now)
    return asset_record(asset)


def create_assets(
    session: Session, caller: Principal, rows: Sequence[Mapping[str, Any]], *, action: str
) -> list[dict[str, Any]]:
    """Create many assets from parsed fields with one multi-row INSERT and one INSERT of
    their history events (`action`, e.g. "registered"), for batches where a flush per asset
    would dominate. The caller checks tags and serials first; the unique indexes stand
    behind it (a race is an exit-6 conflict)."""
    require(caller, Permission.WRITE)
    if not rows:
        return []
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from assetctl.db.tables import assets_table

    actor, now = caller.email, datetime.now(UTC)
    audit = {"version": 1, "created_at": now, "updated_at": now}
    audit |= {"created_by": actor, "updated_by": actor}
    values = []
    for row in rows:
        fields = {**row, "status": row.get("status") or rules.default_status(row.get("assignee"))}
        rules.check_state(fields["status"], fields.get("assignee"))
        values.append(fields)
    stored = [{BY_NAME[f].column: v for f, v in fields.items()} | audit for fields in values]
    stmt = insert(assets_table).returning(assets_table.c.id, sort_by_parameter_order=True)
    announce(session, action, actor)
    try:
        ids = session.execute(stmt, stored).scalars().all()
    except IntegrityError:
        raise ConflictError(
            "a tag or serial was just taken by another asset",
            hint="another command saved it at the same moment; run it again",
        ) from None
    events = [
        {
            "asset_id": asset_id, "action": action, "actor": actor, "at": now,
            "changes": {f: {"old": None, "new": history_value(f, v)} for f, v in fields.items()},
        }
        for asset_id, fields in zip(ids, values, strict=True)
    ]  # fmt: skip
    insert_events(session, events)
    return [asset_record({**row, "id": i}) for i, row in zip(ids, stored, strict=True)]


def get_asset(
    session: Session, caller: Principal, ref: str, *, deleted: bool = False
) -> dict[str, Any]:
    require(caller, Permission.READ)
    return asset_record(resolve_row(session, ref, deleted=deleted))


def _apply(
    session: Session,
    asset: Asset,
    values: Mapping[str, Any],
    action: str,
    actor: str,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Change:
    """Set changed fields, bump the version through the ORM and write one history event."""
    changes: dict[str, Any] = {}
    for field, value in values.items():
        attr, stored = BY_NAME[field].column, value
        old = getattr(asset, attr)
        if old != stored:
            changes[field] = {
                "old": history_value(field, old),
                "new": history_value(field, stored),
            }
            setattr(asset, attr, stored)
    if not changes and not extra:
        return Change(asset_record(asset), changed=False)
    now = datetime.now(UTC)
    for attr, stored in (extra or {}).items():
        changes[attr] = {"old": wire(getattr(asset, attr)), "new": wire(stored)}
        setattr(asset, attr, stored)
    asset.updated_at = now
    asset.updated_by = actor
    announce(session, action, actor)
    _flush(session, asset)
    record_event(session, asset, action, actor, changes, now)
    return Change(asset_record(asset), changed=True)


def _check_version(asset: Asset, if_version: int | None) -> None:
    if if_version is not None and asset.version != if_version:
        raise ConflictError(
            f"asset {asset.tag} is at version {asset.version}, not {if_version}",
            hint="someone changed it since you read it; show it again and retry",
        )


def update_asset(
    session: Session,
    caller: Principal,
    ref: str,
    fields: Mapping[str, Any],
    *,
    if_version: int | None,
) -> Change:
    """Change the given fields; `if_version` makes it fail (exit 6) if the row moved on."""
    require(caller, Permission.WRITE)
    if not fields:
        raise InvalidInputError("nothing to update", hint="pass at least one --FIELD VALUE")
    asset = resolve(session, ref, for_update=True)
    _check_version(asset, if_version)
    if "status" in fields:
        rules.check_status_change(asset.tag, asset.status, fields["status"], asset.assignee)
    check_unique(
        session,
        fields.get("tag") if fields.get("tag") != asset.tag else None,
        fields.get("serial") if fields.get("serial") != asset.serial else None,
        asset.id,
    )
    return _apply(session, asset, fields, "updated", caller.email)


def assign_asset(
    session: Session, caller: Principal, ref: str, person: str, *, if_version: int | None = None
) -> Change:
    require(caller, Permission.WRITE)
    asset = resolve(session, ref, for_update=True)
    _check_version(asset, if_version)
    if rules.BY_CODE["unassignable"].broken(asset.status, person):
        raise ConflictError(
            f"asset {asset.tag} is {asset.status} and cannot be assigned",
            hint=f"set another status first: `assetctl asset update {asset.tag} --status in_stock`",
        )
    return _apply(
        session, asset, {"assignee": person, "status": "assigned"}, "assigned", caller.email
    )


def unassign_asset(
    session: Session, caller: Principal, ref: str, *, if_version: int | None = None
) -> Change:
    require(caller, Permission.WRITE)
    asset = resolve(session, ref, for_update=True)
    _check_version(asset, if_version)
    if asset.status != "assigned":
        raise ConflictError(f"asset {asset.tag} is not assigned (status {asset.status})")
    return _apply(
        session, asset, {"assignee": None, "status": "in_stock"}, "unassigned", caller.email
    )


def delete_asset(
    session: Session, caller: Principal, ref: str, *, if_version: int | None = None
) -> Change:
    """Soft delete: the row stays, with `deleted_at`, and can be restored."""
    require(caller, Permission.DELETE)
    asset = resolve(session, ref, for_update=True)
    _check_version(asset, if_version)
    now = datetime.now(UTC)
    return _apply(session, asset, {}, "deleted", caller.email, extra={"deleted_at": now})


def restore_asset(
    session: Session, caller: Principal, ref: str, *, if_version: int | None = None
) -> Change:
    require(caller, Permission.DELETE)
    asset = resolve(session, ref, deleted=True, for_update=True)
    _check_version(asset, if_version)
    check_unique(session, asset.tag, asset.serial, asset.id)
    return _apply(session, asset, {}, "restored", caller.email, extra={"deleted_at": None})


def set_description(
    session: Session, caller: Principal, ref: str, text: str, source: Mapping[str, Any]
) -> Change:
    """Store an AI description and its source (provider, model, time) on an asset; the
    history event `described` records both. A model's reply follows the same field rules
    as every other input (InvalidInputError otherwise)."""
    import json

    from assetctl.core.assets.fields import PARSERS

    require(caller, Permission.WRITE)
    values = {
        "description": PARSERS["description"](text),
        "description_source": json.loads(PARSERS["description_source"](json.dumps(dict(source)))),
    }
    asset = resolve(session, ref, for_update=True)
    return _apply(session, asset, values, "described", caller.email)


def asset_history(session: Session, caller: Principal, ref: str) -> list[dict[str, Any]]:
    """Every event of the asset, oldest first. Deleted assets have history too. Read through
    the tables: no ORM class is mapped for a read."""
    require(caller, Permission.READ)
    from sqlalchemy import select

    from assetctl.db.tables import asset_events

    try:
        asset = resolve_row(session, ref)
    except NotFoundError as not_active:
        try:
            asset = resolve_row(session, ref, deleted=True)
        except NotFoundError:
            raise not_active from None
    events = asset_events.c
    rows = session.execute(
        select(events.id, events.at, events.actor, events.action, events.changes)
        .where(events.asset_id == asset["id"])
        .order_by(events.id)
    )
    return [
        {
            "id": event.id,
            "asset_id": asset["id"],
            "tag": asset["tag"],
            "at": event.at,
            "actor": event.actor,
            "action": event.action,
            "changes": event.changes,
        }
        for event in rows
    ]


def list_assets(
    session: Session,
    caller: Principal,
    filters: Filters,
    sort: Sort,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of matching assets and the cursor of the next."""
    require(caller, Permission.READ)
    # Imported by the listing commands only (`asset show` and the writes do not list).
    from assetctl.core.assets.listing import Page, fetch_page

    page = fetch_page(session, filters, sort, limit, cursor)
    return Page([asset_record(row) for row in page.rows], page.next_cursor)


def iter_assets(
    session: Session, caller: Principal, filters: Filters, sort: Sort, cursor: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every matching asset, streamed in keyset batches."""
    require(caller, Permission.READ)
    from assetctl.core.assets.listing import stream_rows

    return (asset_record(row) for row in stream_rows(session, filters, sort, cursor))
