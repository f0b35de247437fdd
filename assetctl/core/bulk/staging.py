"""The SQL side of an import: a TEMP staging table and the set-based checks against it
(the write from it into `assets` and `asset_events` is `bulk.write`).

The same statements run on PostgreSQL and SQLite; `Dialect` holds the few expressions that
differ ("is distinct from", and SQLite's history JSON). Everything happens inside the
caller's transaction, so an interrupted import leaves nothing behind.
"""

# SQL here is composed only from this module's constants (table and column names, bit
# masks); every value from the file travels through COPY or bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assetctl.core.assets import rules
from assetctl.core.assets.schema import REQUIRED, Kind, column, kind
from assetctl.core.bulk.copy_in import copy_in, csv_batches
from assetctl.core.bulk.reader import IMPORT_FIELDS, Problem

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STAGING = "import_staging"
# Public field -> stored column (the staging table uses the stored names too).
COLUMN = {f: column(f) for f in IMPORT_FIELDS}
STAGE_COLUMNS = ("line", "ok", "given", *COLUMN.values())
# What a row is matched to an existing asset by (`--match`).
MATCH_KEYS = ("tag", "serial")
BIT = {f: 1 << i for i, f in enumerate(IMPORT_FIELDS)}


def data_fields(match: str) -> tuple[str, ...]:
    """Columns an update may change: all but the one rows are matched by."""
    return tuple(f for f in IMPORT_FIELDS if f != match)


SQLITE_BATCH = 1000
WORK_MEM = "256MB"

# Staging column types by kind; everything else is text.
_PG_TYPES = {Kind.DATE: "date", Kind.JSON: "json", Kind.MONEY: "bigint"}
_SQLITE_TYPES = {Kind.MONEY: "INTEGER"}


@dataclass(frozen=True)
class Dialect:
    postgres: bool

    def distinct(self, left: str, right: str, field: str) -> str:
        if kind(field) is Kind.JSON:
            # The ORM stores a missing source as JSON null, the import as SQL NULL: equal.
            if self.postgres:
                return (
                    f"NULLIF({left}::jsonb, 'null'::jsonb) IS DISTINCT FROM "
                    f"NULLIF({right}::jsonb, 'null'::jsonb)"
                )
            return f"NULLIF(json({left}), 'null') IS NOT NULLIF(json({right}), 'null')"
        return f"{left} IS DISTINCT FROM {right}" if self.postgres else f"{left} IS NOT {right}"

    # History of an import, in SQL: only SQLite needs it (on PostgreSQL the history trigger
    # of `db/history_trigger.py` writes every event).

    @staticmethod
    def history_value(expr: str, field: str) -> str:
        """The value as `assets.commands` writes it into history (cost as a decimal string)."""
        if expr == "NULL":
            return expr
        if kind(field) is Kind.MONEY:
            return f"CASE WHEN {expr} IS NULL THEN NULL ELSE printf('%d.%02d', {expr} / 100, {expr} % 100) END"  # noqa: E501
        if kind(field) is Kind.JSON:
            return f"json({expr})"
        return expr

    def created(self, fields: Iterable[str], row: str = "s") -> str:
        """The changes of a new asset: {field: {"old": null, "new": value}} of its non-null
        fields, the status with its default (alias `s` holds the row, in stored column
        names)."""

        def value(field: str) -> str:
            return status_or_default(row) if field == "status" else f"{row}.{COLUMN[field]}"

        return self.changes((f, f"{value(f)} IS NOT NULL", "NULL", value(f)) for f in fields)

    def changes(self, pairs: Iterable[tuple[str, str, str, str]]) -> str:
        """A JSON object {field: {"old": o, "new": n}} of the pairs whose condition holds.
        `pairs` are (field, condition, old expression, new expression)."""
        args = ", ".join(
            f"'{f}', json(CASE WHEN {cond} THEN json_object("
            f"'old', {self.history_value(old, f)}, 'new', {self.history_value(new, f)}) END)"
            for f, cond, old, new in pairs
        )
        return (
            f"(SELECT json_group_object(key, value) FROM json_each(json_object({args})) "
            "WHERE value IS NOT NULL)"
        )


def status_or_default(row: str) -> str:
    """A new asset's status: as given, else what `asset add` defaults it to."""
    return rules.default_status_sql(f"{row}.status", f"{row}.assignee")


def dialect_of(session: Session) -> Dialect:
    return Dialect(postgres=session.get_bind().dialect.name == "postgresql")


def exec_sql(session: Session, sql: str, params: dict[str, Any] | None = None) -> Any:
    from sqlalchemy import text

    return session.execute(text(sql), params or {})


def create_staging(session: Session, dialect: Dialect, *, for_write: bool = True) -> None:
    """The TEMP staging table. On PostgreSQL, when the rows are to be written, each draws
    its asset id from the sequence as it streams in; a dry run (`for_write` off) does not:
    it must leave no trace."""
    if dialect.postgres:
        # The write phase sorts the staged rows by line; with the default 4 MB the sorts of
        # 100,000 rows spill to temp files. Scoped to this
        # transaction, and only an upper bound.
        exec_sql(session, f"SET LOCAL work_mem = '{WORK_MEM}'")
        cols = ", ".join(f"{COLUMN[f]} {_PG_TYPES.get(kind(f), 'text')}" for f in IMPORT_FIELDS)
        default_id = ""
        if for_write:
            # The sequence as a constant: pg_get_serial_sequence() in the default would be
            # evaluated again for every row (about 2 us each).
            sequence = exec_sql(
                session, "SELECT quote_literal(pg_get_serial_sequence('assets', 'id'))"
            ).scalar_one()
            default_id = f"DEFAULT nextval({sequence}::regclass)"
        exec_sql(
            session,
            f"CREATE TEMP TABLE {STAGING} (line integer NOT NULL, ok boolean NOT NULL, "
            f"given integer NOT NULL, {cols}, asset_id bigint, seen_version integer, "
            f"new_id bigint {default_id}, changed boolean) ON COMMIT DROP",
        )
        return
    cols = ", ".join(f"{COLUMN[f]} {_SQLITE_TYPES.get(kind(f), 'TEXT')}" for f in IMPORT_FIELDS)
    exec_sql(session, f"DROP TABLE IF EXISTS temp.{STAGING}")
    exec_sql(
        session,
        f"CREATE TEMP TABLE {STAGING} (line INTEGER NOT NULL, ok INTEGER NOT NULL, "
        f"given INTEGER NOT NULL, {cols}, asset_id INTEGER, seen_version INTEGER, "
        "changed INTEGER)",
    )


def drop_staging(session: Session, dialect: Dialect) -> None:
    # PostgreSQL drops it at commit (ON COMMIT DROP); SQLite keeps temp tables per connection.
    if not dialect.postgres:
        exec_sql(session, f"DROP TABLE IF EXISTS temp.{STAGING}")


def load_staging(session: Session, dialect: Dialect, rows: Iterator[tuple[Any, ...]]) -> None:
    """Stream validated rows into the staging table (COPY on PostgreSQL)."""
    if dialect.postgres:
        copy_in(
            session,
            f"COPY {STAGING} ({', '.join(STAGE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)",
            csv_batches(rows),
        )
        return
    conn = session.connection()
    sql = (
        f"INSERT INTO {STAGING} ({', '.join(STAGE_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in STAGE_COLUMNS)})"
    )
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == SQLITE_BATCH:
            conn.exec_driver_sql(sql, batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)


def resolve(session: Session, dialect: Dialect, *, update: bool, match: str = "tag") -> None:
    """Match rows to active assets by `match` (tag or serial); with --update complete each
    matched row with the asset's current values for the fields the file does not give, so
    the staging row is the asset as it will be."""
    if not update:
        exec_sql(
            session,
            f"UPDATE {STAGING} AS s SET asset_id = a.id, seen_version = a.version "
            f"FROM assets AS a WHERE a.{match} = s.{match} AND a.deleted_at IS NULL",
        )
    else:
        sets = []
        for field in data_fields(match):
            col = COLUMN[field]
            if field == "status":
                value = (
                    f"CASE WHEN s.given & {BIT['status']} <> 0 THEN s.status "
                    f"WHEN s.given & {BIT['assignee']} <> 0 THEN CASE "
                    "WHEN s.assignee IS NOT NULL THEN 'assigned' "
                    "WHEN a.status = 'assigned' THEN 'in_stock' ELSE a.status END "
                    "ELSE a.status END"
                )
            else:
                value = f"CASE WHEN s.given & {BIT[field]} <> 0 THEN s.{col} ELSE a.{col} END"
            sets.append(f"{col} = {value}")
        exec_sql(
            session,
            f"UPDATE {STAGING} AS s SET asset_id = a.id, seen_version = a.version, "
            f"{', '.join(sets)} FROM assets AS a "
            f"WHERE a.{match} = s.{match} AND a.deleted_at IS NULL AND s.ok",
        )
    exec_sql(
        session,
        f"UPDATE {STAGING} SET status = {status_or_default(STAGING)} "
        "WHERE asset_id IS NULL AND status IS NULL",
    )


def find_problems(
    session: Session,
    dialect: Dialect,
    *,
    update: bool,
    columns: dict[str, str],
    missing: frozenset[str],
    match: str = "tag",
) -> list[Problem]:
    """Problems only the whole file or the database can show: duplicates inside the file,
    tags and serials already in use, missing required values, status/assignee mismatches."""

    def col(field: str) -> str:
        return columns.get(field, field)

    problems: list[Problem] = []
    for field in ("tag", "serial"):
        rows = exec_sql(
            session,
            f"SELECT line, {field}, first FROM (SELECT line, {field}, "
            f"MIN(line) OVER (PARTITION BY {field}) AS first FROM {STAGING} "
            f"WHERE {field} IS NOT NULL) AS d WHERE line > first",
        )
        problems += [
            Problem(
                line,
                col(field),
                value,
                f"duplicate {field} {value!r} (first on line {first})",
                conflict=True,
            )
            for line, value, first in rows
        ]
    if not update:
        rows = exec_sql(session, f"SELECT line, {match} FROM {STAGING} WHERE asset_id IS NOT NULL")
        problems += [
            Problem(
                line,
                col(match),
                key,
                f"an asset with {match} {key!r} already exists (use --update to update it)",
                conflict=True,
            )
            for line, key in rows
        ]
    if match != "tag":
        # Rows matched by serial may carry a tag that another asset holds.
        rows = exec_sql(
            session,
            f"SELECT s.line, s.tag FROM {STAGING} AS s JOIN assets AS a ON a.tag = s.tag "
            "AND a.deleted_at IS NULL WHERE s.ok AND (s.asset_id IS NULL OR a.id <> s.asset_id)",
        )
        problems += [
            Problem(
                line,
                col("tag"),
                tag,
                f"tag {tag!r} is already used by another asset",
                conflict=True,
            )
            for line, tag in rows
        ]
    moved_away = (
        f"AND NOT EXISTS (SELECT 1 FROM {STAGING} AS o WHERE o.asset_id = a.id AND o.ok "
        "AND (o.serial IS NULL OR o.serial <> a.serial))"
        if update
        else ""
    )
    rows = exec_sql(
        session,
        f"SELECT s.line, s.serial, a.tag FROM {STAGING} AS s JOIN assets AS a "
        "ON a.serial = s.serial AND a.deleted_at IS NULL "
        f"WHERE s.ok AND (s.asset_id IS NULL OR a.id <> s.asset_id) {moved_away}",
    )
    problems += [
        Problem(
            line,
            col("serial"),
            serial,
            f"serial {serial!r} is already used by asset {holder}",
            conflict=True,
        )
        for line, serial, holder in rows
    ]
    for field in REQUIRED:
        if (field == "tag" and match == "tag") or field in missing:  # matched rows have one
            continue
        rows = exec_sql(
            session,
            f"SELECT line FROM {STAGING} WHERE ok AND asset_id IS NULL AND {field} IS NULL",
        )
        problems += [
            Problem(line, col(field), None, f"{field} is required for a new asset")
            for (line,) in rows
        ]
    broken = rules.violation_sql("status", "assignee")
    rows = exec_sql(
        session,
        f"SELECT line, status, assignee, rule FROM (SELECT line, status, assignee, "
        f"{broken} AS rule FROM {STAGING} WHERE ok) AS r WHERE rule IS NOT NULL",
    )
    for line, status, assignee, code in rows:
        rule = rules.BY_CODE[code]
        problems.append(
            Problem(
                line,
                col(rule.field),
                status if rule.field == "status" else assignee,
                rule.message.format(status=status, assignee=assignee),
                conflict=rule.conflict,
            )
        )
    return problems
