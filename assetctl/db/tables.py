"""The schema of record, as SQLAlchemy Core tables: every column, key, constraint and index
is declared once, here (the assets, their history, the alert deliveries every command checks,
the cache counters) or in `account_tables.py` and `audit_tables.py`; `metadata` holds them
all. Migrations in `migrations/versions` mirror it exactly (a test runs Alembic's
autogenerate comparison to prove there is no drift); the ORM classes of `db/models` are
mapped onto these tables.

Core only, no declarative classes: every data command imports this module, and a table
costs a fraction of a declarative class (no annotations to resolve, no mapper to build).
Reads query the tables directly; only the commands that load ORM objects map their classes
(`assetctl.db.models`). The tables a data command never reads (accounts, audits) are built
only by the modules that use them, and by `metadata`."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnClause

from assetctl.core.assets import rules
from assetctl.core.assets.schema import BY_NAME, FIELDS, Field, Kind, column

# Deterministic constraint names so migrations and autogenerate agree on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT on PostgreSQL, but INTEGER on SQLite so the key stays the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


# The MetaData every table module adds its tables to. Read the schema through `metadata`
# (below), which is the same object with every table and index in it.
shared_metadata = MetaData(naming_convention=NAMING_CONVENTION)


def required(name: str, type_: Any, **options: Any) -> Column[Any]:
    return Column(name, type_, nullable=False, **options)


def optional(name: str, type_: Any, **options: Any) -> Column[Any]:
    return Column(name, type_, nullable=True, **options)


def id_column() -> Column[Any]:
    return Column("id", BigId, primary_key=True, autoincrement=True)


def reference(
    name: str, target: str, on_delete: str, *, nullable: bool = False, **options: Any
) -> Column[Any]:
    """A key column referencing `target` ("table.column"), typed like the ids it holds."""
    return Column(name, BigId, ForeignKey(target, ondelete=on_delete), nullable=nullable, **options)


ACTIVE = text("deleted_at IS NULL")
# Fields unique among active (non-deleted) assets; a nullable one only when present.
UNIQUE_WHEN_ACTIVE = ("tag", "serial")
DELETED = text("deleted_at IS NOT NULL")


def _column_type(field: Field) -> Any:
    if field.kind is Kind.TEXT:
        return Text() if field.long else String(field.max_len)
    return {
        Kind.ID: BigId,
        Kind.INT: Integer(),
        Kind.ENUM: String(16),
        Kind.DATE: Date(),
        # Integer cents: exact on every backend (SQLite has no exact decimal type).
        Kind.MONEY: BigInteger(),
        # none_as_null: no value is SQL NULL, not the JSON text "null".
        Kind.JSON: JSON(none_as_null=True),
        Kind.TIMESTAMP: UTCDateTime(),
    }[field.kind]


def _asset_table() -> Table:
    """The `assets` table, derived from the field catalogue: one column per field, a
    (column, id) index per sortable field for keyset pagination, and the state rules'
    CHECK constraints (its partial and search indexes: `_dialect_indexes`)."""
    columns = [
        Column(
            f.column,
            _column_type(f),
            primary_key=f.kind is Kind.ID,
            autoincrement=f.kind is Kind.ID,
            nullable=f.nullable,
        )
        for f in FIELDS
    ]
    money = [f.column for f in FIELDS if f.kind is Kind.MONEY]
    return Table(
        "assets",
        shared_metadata,
        *columns,
        CheckConstraint(rules.STATUS_CHECK, name="status"),
        CheckConstraint(rules.ASSIGNMENT_CHECK, name="assignment"),
        # Named "cost" since the first release.
        *(CheckConstraint(f"{col} IS NULL OR {col} >= 0", name="cost") for col in money),
        # The sort indexes of the non-null keys (the nullable ones: `_dialect_indexes`).
        *(_sort_index(field) for field in sort_index_keys() if not field.nullable),
    )


def sort_index_keys() -> list[Field]:
    """Every sort key with its own (key, id) index. A unique key needs none: its unique
    index gives the order (ties are impossible among active assets)."""
    return [
        field
        for field in FIELDS
        if field.sortable and field.kind is not Kind.ID and field.name not in UNIQUE_WHEN_ACTIVE
    ]


def _sort_index(field: Field) -> Index:
    """`ix_assets_<field>_id`: keyset pages of `--sort FIELD` read (FIELD, id) in order (a
    top-N sort of every asset instead cost 0.2 s at 1,000,000 assets), and `--FIELD VALUE`
    finds its rows. A nullable field's index holds only its values (listing pages its NULL
    tail by id), so writing an asset without that value costs the index nothing."""
    key = column(field.name)
    if not field.nullable:
        return Index(f"ix_assets_{field.name}_id", key, "id")
    where = text(f"{key} IS NOT NULL")
    name = f"ix_assets_{field.name}_id"
    return Index(name, key, "id", postgresql_where=where, sqlite_where=where)


def _dialect_indexes(table: Table) -> None:
    """The indexes of `assets` that only one dialect or each its own way builds: the
    partial indexes (`postgresql_where`, `sqlite_where`) and PostgreSQL's search index.
    SQLAlchemy validates a dialect's index options by importing that dialect, so these
    are attached only when the whole schema is asked for (`metadata`, see __getattr__):
    a command on PostgreSQL never imports the SQLite dialect (~35 M instructions), nor one
    on SQLite the PostgreSQL dialect package; queries never need them."""
    for name in UNIQUE_WHEN_ACTIVE:
        table.append_constraint(_unique_when_active(table, name))
    # `--deleted` reads the few deleted rows; the index holds only them, so it costs nothing
    # to insert or import active assets.
    table.append_constraint(
        Index(
            "ix_assets_deleted_at",
            table.c.deleted_at,
            postgresql_where=DELETED,
            sqlite_where=DELETED,
        )
    )
    for field in sort_index_keys():
        if field.nullable:
            table.append_constraint(_sort_index(field))
    table.append_constraint(_search_index())


def _unique_when_active(table: Table, name: str) -> Index:
    """`uq_assets_<name>_active`: unique among active assets, and among present values."""
    where = (
        text(f"{column(name)} IS NOT NULL AND deleted_at IS NULL")
        if BY_NAME[name].nullable
        else ACTIVE
    )
    return Index(
        f"uq_assets_{name}_active",
        table.c[column(name)],
        unique=True,
        postgresql_where=where,
        sqlite_where=where,
    )


def _search_index() -> Index:
    """PostgreSQL's trigram index over the searchable fields (db/search_index.py); created
    only where pg_trgm is available, and never on SQLite."""
    from assetctl.db import search_index

    joined: ColumnClause[Any] = literal_column(search_index.SEARCH_TEXT_SQL)
    return Index(
        search_index.INDEX_NAME,
        joined,
        postgresql_using="gin",
        postgresql_ops={joined.key: "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


assets_table = _asset_table()


# One change to one asset: who, when, what, and each field's old -> new value.
asset_events = Table(
    "asset_events",
    shared_metadata,
    id_column(),
    # No foreign key, on purpose: only the history trigger (and on SQLite the CLI) writes
    # events, always for the row it just wrote, so the check proved nothing, yet it locked
    # every new asset row again (FOR KEY SHARE) and cost an import more than all the rest of
    # its history. And an audit trail should outlive a hard delete (only the owner can do
    # one), not cascade away with it.
    required("asset_id", BigId),
    required("action", String(32)),
    required("actor", String(320)),
    required("at", UTCDateTime),
    required("changes", JSON),
    # PostgreSQL: the database login that made the change and its transaction, written by
    # the history trigger (see db/history_trigger.py); NULL on SQLite.
    optional("db_user", String(63)),
    optional("xact", BigInteger),
    Index("ix_asset_events_asset_id_id", "asset_id", "id"),
)

# A login from a location not seen for that user before.
security_alerts = Table(
    "security_alerts",
    shared_metadata,
    id_column(),
    reference("user_id", "users.id", "CASCADE"),
    reference("login_event_id", "login_events.id", "SET NULL", nullable=True),
    required("kind", String(32)),
    required("severity", String(16)),
    # What was new (an IP, an IPv6 /64, a country, a from>to pair): the 24 h dedupe key.
    required("location", String(128)),
    required("details", JSON),
    required("at", UTCDateTime),
    optional("acked_at", UTCDateTime),
    optional("acked_by", String(320)),
    CheckConstraint(
        "kind IN ('new_ip', 'new_country', 'impossible_travel', 'unknown_ip')", name="kind"
    ),
    CheckConstraint("severity IN ('warning', 'high', 'critical')", name="severity"),
    Index("ix_security_alerts_user_id_kind_location_at", "user_id", "kind", "location", "at"),
    Index("ix_security_alerts_at", "at"),
)

# One notification of one alert through one channel; pending until it succeeds.
alert_deliveries = Table(
    "alert_deliveries",
    shared_metadata,
    id_column(),
    reference("alert_id", "security_alerts.id", "CASCADE"),
    required("channel", String(16)),
    required("status", String(16)),
    required("attempts", Integer),
    # Why the last attempt failed, never with a secret (no URL path, no password).
    optional("last_error", String(500)),
    required("created_at", UTCDateTime),
    # A pending delivery is retried once this has passed (backoff, or a claim's lease).
    required("next_attempt_at", UTCDateTime),
    optional("delivered_at", UTCDateTime),
    CheckConstraint("channel IN ('log', 'webhook', 'email')", name="channel"),
    CheckConstraint("status IN ('pending', 'delivered')", name="status"),
    # The after-every-command retry check is one range scan of this index.
    Index("ix_alert_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_alert_deliveries_alert_id", "alert_id"),
)

# A counter every committed change to what cached answers hold bumps in its own transaction
# (PostgreSQL triggers, `assetctl.db.pg_cache`); Redis entries are keyed by it. No client
# role may write it.
cache_generations = Table(
    "cache_generations",
    shared_metadata,
    Column("name", String(16), primary_key=True),
    required("value", BigInteger),
)

# One row per transaction that changed `assets`, inserted by a statement trigger and removed
# at commit by the deferred trigger that bumps the generation (so the counter's row is
# locked only while committing).
cache_pending = Table(
    "cache_pending",
    shared_metadata,
    Column("xact", BigInteger, primary_key=True, autoincrement=False),
)


if TYPE_CHECKING:
    # The whole schema: every table with every index (see __getattr__).
    metadata: MetaData


def __getattr__(name: str) -> MetaData:
    """`metadata`, the whole schema as migrations, Alembic's comparison and the grants read
    it: built on first use with the tables of the other modules (accounts, audits) and the
    dialect-specific indexes (`_dialect_indexes`)."""
    if name != "metadata":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import_module("assetctl.db.account_tables")
    import_module("assetctl.db.audit_tables")
    _dialect_indexes(assets_table)
    globals()["metadata"] = shared_metadata
    return shared_metadata
