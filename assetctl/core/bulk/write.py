"""The write phase of an import: count what the staged rows would do, then apply them to
`assets` and `asset_events` with set-based statements (see `bulk.staging` for the staging
table and the checks that run before this)."""

# SQL here is composed only from module constants and `Dialect` expressions; values travel
# as bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.bulk.reader import IMPORT_FIELDS
from assetctl.core.bulk.staging import COLUMN, STAGING, Dialect, data_fields, exec_sql
from assetctl.errors import ConflictError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _changed(dialect: Dialect, match: str) -> str:
    return " OR ".join(
        dialect.distinct(f"s.{COLUMN[f]}", f"a.{COLUMN[f]}", f) for f in data_fields(match)
    )


@dataclass(frozen=True)
class Plan:
    create: int
    update: int
    unchanged: int


def plan(session: Session, dialect: Dialect, match: str = "tag") -> Plan:
    """How many rows would create, change and leave alone an asset."""
    create = exec_sql(session, f"SELECT count(*) FROM {STAGING} WHERE asset_id IS NULL").scalar()
    update = exec_sql(
        session,
        f"SELECT count(*) FROM {STAGING} AS s JOIN assets AS a ON a.id = s.asset_id "
        f"WHERE {_changed(dialect, match)}",
    ).scalar()
    matched = exec_sql(
        session, f"SELECT count(*) FROM {STAGING} WHERE asset_id IS NOT NULL"
    ).scalar()
    return Plan(int(create or 0), int(update or 0), int(matched or 0) - int(update or 0))


def write(
    session: Session,
    dialect: Dialect,
    actor: str,
    now: datetime,
    expected: Plan,
    match: str = "tag",
) -> None:
    """Apply the staged rows: updates (with `updated` events holding real old -> new values),
    then inserts (with `imported` events). A row changed by someone else since it was read
    makes the whole import fail (exit 6) rather than overwrite that change."""
    from sqlalchemy import bindparam, text
    from sqlalchemy.exc import IntegrityError

    from assetctl.db.audit import announce
    from assetctl.db.tables import UTCDateTime

    def run(sql: str) -> Any:
        stmt = text(sql).bindparams(bindparam("now", type_=UTCDateTime()))
        return session.execute(stmt, {"now": now, "actor": actor})

    changed = _changed(dialect, match)
    fields = data_fields(match)
    data_cols = [COLUMN[f] for f in fields]
    try:
        if expected.update:
            # Decided once, before the serials below are released and the comparison with
            # the stored row would no longer tell.
            exec_sql(
                session,
                f"UPDATE {STAGING} AS s SET changed = TRUE FROM assets AS a "
                f"WHERE a.id = s.asset_id AND ({changed})",
            )
            announce(session, "updated", actor)
            if not dialect.postgres:  # PostgreSQL's history trigger writes the events
                update_changes = dialect.changes(
                    (
                        f,
                        dialect.distinct(f"s.{COLUMN[f]}", f"a.{COLUMN[f]}", f),
                        f"a.{COLUMN[f]}",
                        f"s.{COLUMN[f]}",
                    )
                    for f in fields
                )
                run(
                    "INSERT INTO asset_events (asset_id, action, actor, at, changes) "
                    f"SELECT a.id, 'updated', :actor, :now, {update_changes} "
                    f"FROM {STAGING} AS s JOIN assets AS a ON a.id = s.asset_id "
                    "WHERE s.changed ORDER BY s.line"
                )
            # The unique index on serial is checked row by row: when a file swaps two
            # serials, or gives one asset the serial another gives up, the first row
            # updated would collide with a row not yet updated. Release the serials that
            # move first (in this transaction only; nobody else sees the interim state).
            exec_sql(
                session,
                "UPDATE assets AS a SET serial = NULL "
                f"FROM {STAGING} AS s WHERE a.id = s.asset_id AND s.changed "
                "AND a.version = s.seen_version AND a.serial IS NOT NULL "
                "AND (s.serial IS NULL OR s.serial <> a.serial)",
            )
            result = run(
                f"UPDATE assets AS a SET {', '.join(f'{c} = s.{c}' for c in data_cols)}, "
                "version = a.version + 1, updated_at = :now, updated_by = :actor "
                f"FROM {STAGING} AS s WHERE a.id = s.asset_id AND a.version = s.seen_version "
                "AND s.changed"
            )
            if result.rowcount != expected.update:
                raise ConflictError(
                    "assets in the file were changed by someone else while importing; "
                    "nothing was imported",
                    hint="run the import again",
                )
        if expected.create:
            all_cols = ", ".join(COLUMN[f] for f in IMPORT_FIELDS)
            insert = (
                f"INSERT INTO assets ({all_cols}, version, created_at, updated_at, created_by, "
                f"updated_by) SELECT {all_cols}, 1, :now, :now, :actor, :actor FROM {STAGING} "
                "WHERE asset_id IS NULL ORDER BY line"
            )
            if dialect.postgres:  # the history trigger writes the `imported` events
                announce(session, "imported", actor)
                run(
                    f"INSERT INTO assets (id, {all_cols}, version, created_at, updated_at, "
                    f"created_by, updated_by) SELECT new_id, {all_cols}, 1, :now, :now, :actor, "
                    f":actor FROM {STAGING} WHERE asset_id IS NULL ORDER BY line"
                )
            else:
                run(insert)
                run(
                    "INSERT INTO asset_events (asset_id, action, actor, at, changes) "
                    f"SELECT a.id, 'imported', :actor, :now, {dialect.created(IMPORT_FIELDS)} "
                    f"FROM {STAGING} AS s JOIN assets AS a ON a.tag = s.tag "
                    "AND a.deleted_at IS NULL WHERE s.asset_id IS NULL ORDER BY s.line"
                )
    except IntegrityError as exc:
        message = str(exc.orig).lower()
        field = "serial" if "serial" in message else "tag"
        raise ConflictError(
            f"another asset with the same {field} was saved while importing; nothing was imported",
            hint="run the import again to see which rows conflict",
        ) from None


def actions(session: Session, dialect: Dialect, match: str = "tag") -> list[dict[str, object]]:
    """What the write will do to each row, in file order: {line, tag, action} with action
    created, updated or unchanged (for the `-o json` report)."""
    rows = exec_sql(
        session,
        f"SELECT s.line, s.tag, CASE WHEN s.asset_id IS NULL THEN 'created' "
        f"WHEN {_changed(dialect, match)} THEN 'updated' ELSE 'unchanged' END "
        f"FROM {STAGING} AS s LEFT JOIN assets AS a ON a.id = s.asset_id ORDER BY s.line",
    )
    return [{"line": line, "tag": tag, "action": action} for line, tag, action in rows]
