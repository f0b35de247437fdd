"""Asset inventory service: add, show, list, update, delete/restore, assign/unassign, history.

Each public function is one command's unit of work: it opens one transaction, applies the
lifecycle rules, writes a history event for every change in that same transaction, and
commits once. Errors are typed (see `assetctl.errors`); nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.assets.fields import UNASSIGNABLE, cents_to_decimal
from assetctl.core.assets.listing import Filters, Page, Sort, fetch_page, stream_rows
from assetctl.db.audit import announce
from assetctl.errors import ConflictError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import Asset

# The stable JSON field order of an asset.
ASSET_FIELDS = (
    "id", "tag", "name", "category", "status", "serial", "manufacturer", "model", "location",
    "assignee", "purchase_date", "purchase_cost", "warranty_until", "description",
    "description_source", "notes", "version", "created_at", "updated_at", "created_by",
    "updated_by", "deleted_at",
)  # fmt: skip
# Fields `update` may change (status transitions to/from assigned go through assign/unassign).
UPDATABLE = (
    "tag", "name", "category", "status", "serial", "manufacturer", "model", "location",
    "purchase_date", "purchase_cost", "warranty_until", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class Change:
    """What a write did: the asset after it, and whether anything changed."""

    asset: dict[str, Any]
    changed: bool


def asset_record(row: Mapping[str, Any] | Asset) -> dict[str, Any]:
    """The public representation of an asset (a DB row mapping or a model instance)."""
    get = row.get if isinstance(row, Mapping) else lambda key: getattr(row, key)
    record = {key: get(key) for key in ASSET_FIELDS if key != "purchase_cost"}
    record["purchase_cost"] = cents_to_decimal(get("purchase_cost_cents"))
    return {key: record[key] for key in ASSET_FIELDS}


def _jsonable(value: Any) -> Any:
    """History values are stored as JSON: dates as ISO text, cents as a decimal string."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _stored(field: str, value: Any) -> tuple[str, Any]:
    """Map a public field and value to the model attribute and stored value."""
    if field == "purchase_cost":
        return "purchase_cost_cents", value
    if field == "category" and value is not None:
        return field, value.lower()
    return field, value


def _history_value(field: str, stored: Any) -> Any:
    if field == "purchase_cost":
        cost = cents_to_decimal(stored)
        return None if cost is None else str(cost)
    return _jsonable(stored)


def _record_event(
    session: Session, asset: Asset, action: str, actor: str, changes: dict[str, Any], at: datetime
) -> None:
    from assetctl.db.audit import database_writes_history
    from assetctl.db.models import AssetEvent

    if database_writes_history(session):
        return  # PostgreSQL's trigger wrote it (see assetctl.db.history_trigger)
    session.add(AssetEvent(asset_id=asset.id, action=action, actor=actor, at=at, changes=changes))


def _resolve(
    session: Session, ref: str, *, deleted: bool = False, for_update: bool = False
) -> Asset:
    """Find an asset by tag, else by numeric id (`id:42` forces the id).

    `for_update` locks the row (PostgreSQL; SQLite writers are already serialised) so a
    concurrent writer waits and then reads the committed version instead of failing later
    with a stale version it never asked to check.
    """
    from sqlalchemy import select

    from assetctl.db.models import Asset

    ref = ref.strip()
    if not ref:
        raise InvalidInputError("the asset reference is empty", hint="give a tag or an id")
    live = Asset.deleted_at.is_not(None) if deleted else Asset.deleted_at.is_(None)
    if not ref.startswith("id:"):
        by_tag = select(Asset).where(Asset.tag == ref, live).order_by(Asset.id.desc()).limit(1)
        if for_update:
            by_tag = by_tag.with_for_update()
        found = session.execute(by_tag).scalar_one_or_none()
        if found is not None:
            return found
    id_text = ref.removeprefix("id:")
    # ASCII digits only (int() also reads "٣"), and nothing a 64-bit id column cannot hold.
    if id_text.isascii() and id_text.isdigit() and int(id_text) < 2**63:
        by_id = select(Asset).where(Asset.id == int(id_text), live)
        if for_update:
            by_id = by_id.with_for_update()
        found = session.execute(by_id).scalar_one_or_none()
        if found is not None:
            return found
    what = "deleted asset" if deleted else "asset"
    raise NotFoundError(
        f"no {what} with tag or id {ref!r}",
        hint="see `assetctl asset list --deleted`" if deleted else "see `assetctl asset list`",
    )


def _check_unique(
    session: Session, tag: str | None, serial: str | None, exclude: int | None
) -> None:
    from sqlalchemy import select

    from assetctl.db.models import Asset

    for field, value in (("tag", tag), ("serial", serial)):
        if value is None:
            continue
        stmt = select(Asset.tag).where(getattr(Asset, field) == value, Asset.deleted_at.is_(None))
        if exclude is not None:
            stmt = stmt.where(Asset.id != exclude)
        holder = session.execute(stmt.limit(1)).scalar_one_or_none()
        if holder is not None:
            raise ConflictError(f"{field} {value!r} is already used by asset {holder}")


def _check_state(status: str, assignee: str | None) -> None:
    if status == "assigned" and assignee is None:
        raise InvalidInputError(
            "status 'assigned' needs an assignee",
            hint="use `assetctl asset assign REF --to PERSON`",
        )
    if assignee is not None and status != "assigned":
        raise InvalidInputError(
            f"an asset with an assignee must have status 'assigned', not {status!r}"
        )


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


def add_asset(session: Session, actor: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Create an asset from validated fields (see `core.fields.parse_fields`)."""
    from assetctl.db.models import Asset

    values = dict(fields)
    assignee = values.get("assignee")
    status = values.get("status") or ("assigned" if assignee else "in_stock")
    values["status"] = status
    if assignee is not None and status in UNASSIGNABLE:
        raise ConflictError(f"a {status} asset cannot be assigned")
    _check_state(status, assignee)
    _check_unique(session, values["tag"], values.get("serial"), None)

    now = datetime.now(UTC)
    asset = Asset(created_at=now, updated_at=now, created_by=actor, updated_by=actor)
    changes: dict[str, Any] = {}
    for field, value in values.items():
        attr, stored = _stored(field, value)
        setattr(asset, attr, stored)
        changes[field] = {"old": None, "new": _history_value(field, stored)}
    session.add(asset)
    announce(session, "created", actor)
    _flush(session, asset)
    _record_event(session, asset, "created", actor, changes, now)
    return asset_record(asset)


def get_asset(session: Session, ref: str, *, deleted: bool = False) -> dict[str, Any]:
    return asset_record(_resolve(session, ref, deleted=deleted))


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
        attr, stored = _stored(field, value)
        old = getattr(asset, attr)
        if old != stored:
            changes[field] = {
                "old": _history_value(field, old),
                "new": _history_value(field, stored),
            }
            setattr(asset, attr, stored)
    if not changes and not extra:
        return Change(asset_record(asset), changed=False)
    now = datetime.now(UTC)
    for attr, stored in (extra or {}).items():
        changes[attr] = {"old": _jsonable(getattr(asset, attr)), "new": _jsonable(stored)}
        setattr(asset, attr, stored)
    asset.updated_at = now
    asset.updated_by = actor
    announce(session, action, actor)
    _flush(session, asset)
    _record_event(session, asset, action, actor, changes, now)
    return Change(asset_record(asset), changed=True)


def _check_version(asset: Asset, if_version: int | None) -> None:
    if if_version is not None and asset.version != if_version:
        raise ConflictError(
            f"asset {asset.tag} is at version {asset.version}, not {if_version}",
            hint="someone changed it since you read it; show it again and retry",
        )


def update_asset(
    session: Session, actor: str, ref: str, fields: Mapping[str, Any], *, if_version: int | None
) -> Change:
    """Change the given fields; `if_version` makes it fail (exit 6) if the row moved on."""
    if not fields:
        raise InvalidInputError("nothing to update", hint="pass at least one --FIELD VALUE")
    asset = _resolve(session, ref, for_update=True)
    _check_version(asset, if_version)
    status = fields.get("status", asset.status)
    if "status" in fields and status != asset.status:
        if status == "assigned":
            raise InvalidInputError(
                "use `assetctl asset assign REF --to PERSON` to assign an asset"
            )
        if asset.status == "assigned":
            raise ConflictError(
                f"asset {asset.tag} is assigned to {asset.assignee}",
                hint=f"run `assetctl asset unassign {asset.tag}` first",
            )
    _check_unique(
        session,
        fields.get("tag") if fields.get("tag") != asset.tag else None,
        fields.get("serial") if fields.get("serial") != asset.serial else None,
        asset.id,
    )
    return _apply(session, asset, fields, "updated", actor)


def assign_asset(session: Session, actor: str, ref: str, person: str) -> Change:
    asset = _resolve(session, ref, for_update=True)
    if asset.status in UNASSIGNABLE:
        raise ConflictError(
            f"asset {asset.tag} is {asset.status} and cannot be assigned",
            hint=f"set another status first: `assetctl asset update {asset.tag} --status in_stock`",
        )
    return _apply(session, asset, {"assignee": person, "status": "assigned"}, "assigned", actor)


def unassign_asset(session: Session, actor: str, ref: str) -> Change:
    asset = _resolve(session, ref, for_update=True)
    if asset.status != "assigned":
        raise ConflictError(f"asset {asset.tag} is not assigned (status {asset.status})")
    return _apply(session, asset, {"assignee": None, "status": "in_stock"}, "unassigned", actor)


def delete_asset(session: Session, actor: str, ref: str) -> Change:
    """Soft delete: the row stays, with `deleted_at`, and can be restored."""
    asset = _resolve(session, ref, for_update=True)
    return _apply(session, asset, {}, "deleted", actor, extra={"deleted_at": datetime.now(UTC)})


def restore_asset(session: Session, actor: str, ref: str) -> Change:
    asset = _resolve(session, ref, deleted=True, for_update=True)
    _check_unique(session, asset.tag, asset.serial, asset.id)
    return _apply(session, asset, {}, "restored", actor, extra={"deleted_at": None})


def set_description(
    session: Session, actor: str, ref: str, text: str, source: Mapping[str, Any]
) -> Change:
    """Store an AI description and its source (provider, model, time) on an asset; the
    history event `described` records both."""
    asset = _resolve(session, ref)
    values = {"description": text, "description_source": dict(source)}
    return _apply(session, asset, values, "described", actor)


def asset_history(session: Session, ref: str) -> list[dict[str, Any]]:
    """Every event of the asset, oldest first. Deleted assets have history too."""
    from sqlalchemy import select

    from assetctl.db.models import AssetEvent

    try:
        asset = _resolve(session, ref)
    except NotFoundError as not_active:
        try:
            asset = _resolve(session, ref, deleted=True)
        except NotFoundError:
            raise not_active from None
    events = session.execute(
        select(AssetEvent).where(AssetEvent.asset_id == asset.id).order_by(AssetEvent.id)
    ).scalars()
    return [
        {
            "id": event.id,
            "asset_id": asset.id,
            "tag": asset.tag,
            "at": event.at,
            "actor": event.actor,
            "action": event.action,
            "changes": event.changes,
        }
        for event in events
    ]


def list_assets(
    session: Session, filters: Filters, sort: Sort, limit: int, cursor: str | None
) -> Page:
    page = fetch_page(session, filters, sort, limit, cursor)
    return Page([asset_record(row) for row in page.rows], page.next_cursor)


def iter_assets(
    session: Session, filters: Filters, sort: Sort, cursor: str | None = None
) -> Iterator[dict[str, Any]]:
    return (asset_record(row) for row in stream_rows(session, filters, sort, cursor))
