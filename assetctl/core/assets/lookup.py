"""Finding assets: a REF (tag, or id) to the asset it names, locked for a write when asked;
batches load and lock theirs up front (`preload`); tags and serials unique among live
assets (`check_unique`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from assetctl.core.assets.schema import ID_PREFIX
from assetctl.errors import ConflictError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import Asset


def resolve(
    session: Session, ref: str, *, deleted: bool = False, for_update: bool = False
) -> Asset:
    """Find an asset by tag, else by numeric id; `id:42` is always the id (no tag may start
    with `id:`), so a tag `42` shadows id 42 only for the bare `42`.

    `for_update` locks the row (PostgreSQL; SQLite writers are already serialised) so a
    concurrent writer waits and then reads the committed version instead of failing later
    with a stale version it never asked to check.
    """
    known: Asset | None = None if deleted else session.info.get(_PRELOADED, {}).get(ref.strip())
    if known is not None and known.tag == ref.strip() and known.deleted_at is None:
        return known  # loaded and locked by `preload`, and still this tag's live asset
    found: Asset = _find(session, ref, deleted=deleted, for_update=for_update, orm=True)
    return found


def resolve_row(session: Session, ref: str, *, deleted: bool = False) -> Mapping[str, Any]:
    """As `resolve`, for reading only: the asset's row as a mapping, through SQLAlchemy Core.
    No ORM object is built, so a read needs neither the mappers configured (all of them,
    on the first ORM query of a process) nor the ORM's statement compilation."""
    found: Mapping[str, Any] = _find(session, ref, deleted=deleted, for_update=False, orm=False)
    return found


def _find(session: Session, ref: str, *, deleted: bool, for_update: bool, orm: bool) -> Any:
    from sqlalchemy import select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    target: Any = assets_table
    if orm:  # only then: a read maps no class
        from assetctl.db.models import Asset

        target = Asset
    ref = ref.strip()
    if not ref:
        raise InvalidInputError("the asset reference is empty", hint="give a tag or an id")
    live = cols.deleted_at.is_not(None) if deleted else cols.deleted_at.is_(None)
    if not ref.startswith(ID_PREFIX):
        by_tag = select(target).where(cols.tag == ref, live).order_by(cols.id.desc()).limit(1)
        if for_update:
            by_tag = by_tag.with_for_update()
        found = _fetch(session, by_tag, ref, orm=orm)
        if found is not None:
            return found
    id_text = ref.removeprefix(ID_PREFIX)
    # ASCII digits only (int() also reads "٣"), and nothing a 64-bit id column cannot hold.
    if id_text.isascii() and id_text.isdigit() and int(id_text) < 2**63:
        by_id = select(target).where(cols.id == int(id_text), live)
        if for_update:
            by_id = by_id.with_for_update()
        found = _fetch(session, by_id, ref, orm=orm)
        if found is not None:
            return found
    what = "deleted asset" if deleted else "asset"
    raise NotFoundError(
        f"no {what} with tag or id {ref!r}",
        hint="see `assetctl asset list --deleted`" if deleted else "see `assetctl asset list`",
    )


_PRELOADED = "assetctl.preloaded_assets"
_PRELOAD_CHUNK = 500


def preload(session: Session, refs: Iterable[str]) -> None:
    """For batches: load and lock the live assets tagged as `refs` with one query per
    chunk, so resolving each of them later costs no round trip."""
    from sqlalchemy import select

    from assetctl.db.models import Asset
    from assetctl.db.tables import assets_table

    cols = assets_table.c
    tags = sorted({ref.strip() for ref in refs if not ref.strip().startswith(ID_PREFIX)})
    known: dict[str, Asset] = session.info.setdefault(_PRELOADED, {})
    for start in range(0, len(tags), _PRELOAD_CHUNK):
        chunk = tags[start : start + _PRELOAD_CHUNK]
        stmt = select(Asset).where(cols.tag.in_(chunk), cols.deleted_at.is_(None))
        for asset in session.execute(stmt.with_for_update()).scalars():
            known[asset.tag] = asset


def _fetch(session: Session, query: Any, ref: str, *, orm: bool) -> Any:
    """Run a lookup that may wait for another session's row lock; a wait that times out
    (db_lock_timeout) names the asset (exit 6). An ORM object, or a row mapping."""
    from sqlalchemy.exc import OperationalError

    from assetctl.db.failures import RETRY_HINT, is_lock_timeout

    try:
        result = session.execute(query)
        return result.scalar_one_or_none() if orm else result.mappings().one_or_none()
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise ConflictError(
                f"another session is changing {ref}; try again", hint=RETRY_HINT
            ) from None
        raise


def check_unique(
    session: Session, tag: str | None, serial: str | None, exclude: int | None
) -> None:
    from sqlalchemy import select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    for field, value in (("tag", tag), ("serial", serial)):
        if value is None:
            continue
        stmt = select(cols.tag).where(cols[field] == value, cols.deleted_at.is_(None))
        if exclude is not None:
            stmt = stmt.where(cols.id != exclude)
        holder = session.execute(stmt.limit(1)).scalar_one_or_none()
        if holder is not None:
            raise ConflictError(f"{field} {value!r} is already used by asset {holder}")
