"""The schema of record, as SQLAlchemy Core tables: every column, key, constraint and index
is declared here once. Migrations in `migrations/versions` mirror it exactly (a test runs
Alembic's autogenerate comparison to prove there is no drift); the ORM classes of
`db/models` are mapped onto these tables.

Core only, no declarative classes: every data command imports this module, and a table
costs a fraction of a declarative class (no annotations to resolve, no mapper to build).
Reads query the tables directly; only the commands that load ORM objects map their classes
(`assetctl.db.models`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
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
from assetctl.core.assets.schema import BY_NAME, FIELDS, SORTABLE, Field, Kind, column

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


_metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _required(name: str, type_: Any, **options: Any) -> Column[Any]:
    return Column(name, type_, nullable=False, **options)


def _optional(name: str, type_: Any, **options: Any) -> Column[Any]:
    return Column(name, type_, nullable=True, **options)


def _id() -> Column[Any]:
    return Column("id", BigId, primary_key=True, autoincrement=True)


def _reference(
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
        _metadata,
        *columns,
        CheckConstraint(rules.STATUS_CHECK, name="status"),
        CheckConstraint(rules.ASSIGNMENT_CHECK, name="assignment"),
        # Named "cost" since the first release.
        *(CheckConstraint(f"{col} IS NULL OR {col} >= 0", name="cost") for col in money),
        # Keyset pages of `--sort KEY` read (KEY, id) in order. A unique key needs none: its
        # unique index gives the order (ties are impossible among active assets).
        *(
            Index(f"ix_assets_{key}_id", column(key), "id")
            for key in SORTABLE
            if key != "id" and key not in UNIQUE_WHEN_ACTIVE
        ),
    )


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
    _metadata,
    _id(),
    _reference("asset_id", "assets.id", "CASCADE"),
    _required("action", String(32)),
    _required("actor", String(320)),
    _required("at", UTCDateTime),
    _required("changes", JSON),
    # PostgreSQL: the database login that made the change and its transaction, written by
    # the history trigger (see db/history_trigger.py); NULL on SQLite.
    _optional("db_user", String(63)),
    _optional("xact", BigInteger),
    Index("ix_asset_events_asset_id_id", "asset_id", "id"),
)

# A person who logs in. `email` is stored lower-cased: unique case-insensitively.
users = Table(
    "users",
    _metadata,
    _id(),
    _required("email", String(254), unique=True),
    _required("name", String(200)),
    _required("role", String(16)),
    # Deferred by the ORM: on PostgreSQL no client role may read it (see
    # core.auth.store.password_hash).
    _required("password_hash", String(255)),
    _required("active", Boolean),
    _required("created_at", UTCDateTime),
    _required("updated_at", UTCDateTime),
    # Every token issued before this instant is void (logout --all, password change, disable).
    _required("tokens_valid_after", UTCDateTime),
    # The lockout counters, deferred for the same reason: on PostgreSQL no client role may
    # read them (admins see whether an account is locked through core.auth.store.lock_states).
    _required("failed_logins", Integer),
    _optional("first_failed_at", UTCDateTime),
    _optional("locked_until", UTCDateTime),
    _optional("last_login_at", UTCDateTime),
    CheckConstraint("role IN ('admin', 'operator', 'viewer')", name="role"),
)

# One issued token, keyed by its `jti`; logout sets `revoked_at`.
sessions = Table(
    "sessions",
    _metadata,
    Column("jti", String(64), primary_key=True),
    _reference("user_id", "users.id", "CASCADE", index=True),
    _required("created_at", UTCDateTime),
    _required("expires_at", UTCDateTime),
    _optional("revoked_at", UTCDateTime),
    _optional("host", String(255)),
    # PostgreSQL: the login the session was opened over; its token works only over it.
    _optional("db_login", String(63)),
)

# Per-database settings generated once (e.g. the JWT signing key).
app_meta = Table(
    "app_meta",
    _metadata,
    Column("key", String(64), primary_key=True),
    _required("value", Text),
)

# One login attempt, successful or not: who, when (database clock), from where.
login_events = Table(
    "login_events",
    _metadata,
    _id(),
    # NULL for an email that matches no user; `email` keeps what was typed.
    _reference("user_id", "users.id", "SET NULL", nullable=True),
    _required("email", String(254)),
    _required("success", Boolean),
    _required("at", UTCDateTime),
    # The address detection uses (the first echo answer, else a global database-seen one).
    _optional("ip", String(45)),
    # echo | database | unknown | off
    _required("ip_source", String(16)),
    # Every echo answer: [{"address": ..., "source": URL}]; two services may disagree.
    _required("public_ips", JSON),
    _optional("db_client_addr", String(45)),
    _optional("hostname", String(255)),
    _optional("os_user", String(128)),
    _optional("cli_version", String(32)),
    _optional("jti", String(64)),
    _optional("country", String(2)),
    _optional("city", String(200)),
    _optional("latitude", Float),
    _optional("longitude", Float),
    _optional("accuracy_radius", Integer),
    _optional("network", String(49)),
    CheckConstraint("ip_source IN ('echo', 'database', 'unknown', 'off')", name="ip_source"),
    # Detection reads a user's successful logins newest first; history reads all.
    Index("ix_login_events_user_id_success_at", "user_id", "success", "at"),
    Index("ix_login_events_email_id", "email", "id"),
)

# PostgreSQL: one password check of the two-step login (`assetctl_login_attempt`, then
# `assetctl_login_finish` or `assetctl_set_password` in a later transaction). No client role
# reads it: `proof_ok` is the secret outcome the caller learns only after it has committed
# the attempt (and with it the failure counted pessimistically).
login_attempts = Table(
    "login_attempts",
    _metadata,
    # Random (gen_random_uuid()): the opaque id the caller holds between the two steps.
    Column("id", String(36), primary_key=True),
    # The login event the attempt wrote (a password check writes one too).
    _reference("login_event_id", "login_events.id", "CASCADE", nullable=True),
    _reference("user_id", "users.id", "CASCADE", nullable=True),
    _required("purpose", String(16)),
    _required("db_login", String(63)),
    # The transaction that made the attempt: the second step must run in another one.
    _required("xid", BigInteger),
    _required("at", UTCDateTime),
    _required("expires_at", UTCDateTime),
    _required("proof_ok", Boolean),
    # The lock this attempt's own pessimistic count set (undone by its success), if any.
    _optional("own_lock", UTCDateTime),
    # A legacy hash replaced by its verifier when the attempt succeeds.
    _optional("new_verifier", Text),
    _optional("details_at", UTCDateTime),
    _optional("used_at", UTCDateTime),
    CheckConstraint("purpose IN ('login', 'password')", name="purpose"),
    Index("ix_login_attempts_login_event_id", "login_event_id"),
)

# A login from a location not seen for that user before.
security_alerts = Table(
    "security_alerts",
    _metadata,
    _id(),
    _reference("user_id", "users.id", "CASCADE"),
    _reference("login_event_id", "login_events.id", "SET NULL", nullable=True),
    _required("kind", String(32)),
    _required("severity", String(16)),
    # What was new (an IP, an IPv6 /64, a country, a from>to pair): the 24 h dedupe key.
    _required("location", String(128)),
    _required("details", JSON),
    _required("at", UTCDateTime),
    _optional("acked_at", UTCDateTime),
    _optional("acked_by", String(320)),
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
    _metadata,
    _id(),
    _reference("alert_id", "security_alerts.id", "CASCADE"),
    _required("channel", String(16)),
    _required("status", String(16)),
    _required("attempts", Integer),
    # Why the last attempt failed, never with a secret (no URL path, no password).
    _optional("last_error", String(500)),
    _required("created_at", UTCDateTime),
    # A pending delivery is retried once this has passed (backoff, or a claim's lease).
    _required("next_attempt_at", UTCDateTime),
    _optional("delivered_at", UTCDateTime),
    CheckConstraint("channel IN ('log', 'webhook', 'email')", name="channel"),
    CheckConstraint("status IN ('pending', 'delivered')", name="status"),
    # The after-every-command retry check is one range scan of this index.
    Index("ix_alert_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_alert_deliveries_alert_id", "alert_id"),
)

# A PostgreSQL login bound to the app user it acts for (`assetctl user add-login`); row-level
# security and the definer functions use it (PostgreSQL only).
db_logins = Table(
    "db_logins",
    _metadata,
    Column("login", String(63), primary_key=True),
    _reference("user_id", "users.id", "CASCADE", index=True),
    _required("created_at", UTCDateTime),
)

# One security policy value set by an admin (`assetctl policy set`); a key without a row has
# its default (assetctl.core.security.policy).
security_policy = Table(
    "security_policy",
    _metadata,
    Column("key", String(64), primary_key=True),
    _required("value", Text),
    _required("updated_at", UTCDateTime),
    _optional("updated_by", String(320)),
)

# A counter every committed change to what cached answers hold bumps in its own transaction
# (PostgreSQL triggers, `assetctl.db.pg_cache`); Redis entries are keyed by it. No client
# role may write it.
cache_generations = Table(
    "cache_generations",
    _metadata,
    Column("name", String(16), primary_key=True),
    _required("value", BigInteger),
)

# One row per transaction that changed `assets`, inserted by a statement trigger and removed
# at commit by the deferred trigger that bumps the generation (so the counter's row is
# locked only while committing).
cache_pending = Table(
    "cache_pending",
    _metadata,
    Column("xact", BigInteger, primary_key=True, autoincrement=False),
)


# Physical audits (`assetctl audit`): a session per walk through a location, the assets it
# expects (snapshotted when it starts), the assets found (one row per asset: scanning it
# twice, or two people scanning it at once, counts once), and every scan, append-only.
AUDIT_STATUSES = ("open", "closed")
# What one scan was: the first scan of an expected asset, of an asset expected elsewhere,
# a repeat of an asset already found in this session, or a code that names no asset.
SCAN_RESULTS = ("found", "unexpected", "again", "unknown")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# One physical audit of a location (optionally one category of assets).
audit_sessions = Table(
    "audit_sessions",
    _metadata,
    _id(),
    _required("location", String(200)),
    _optional("category", String(64)),
    _required("status", String(16)),
    _required("started_at", UTCDateTime),
    _required("started_by", String(320)),
    _optional("closed_at", UTCDateTime),
    _optional("closed_by", String(320)),
    # What `audit close` applied: its options and the counts.
    _optional("outcome", JSON(none_as_null=True)),
    CheckConstraint(f"status IN ({_in(AUDIT_STATUSES)})", name="status"),
    Index("ix_audit_sessions_status_id", "status", "id"),
)

# An asset an audit expects to find: the snapshot taken when it started.
audit_expected = Table(
    "audit_expected",
    _metadata,
    _reference("session_id", "audit_sessions.id", "CASCADE", primary_key=True),
    _reference("asset_id", "assets.id", "CASCADE", primary_key=True),
)

# An asset an audit found (expected there or not): its first scan's time and person. The
# primary key is what makes concurrent scanners count an asset once.
audit_found = Table(
    "audit_found",
    _metadata,
    _reference("session_id", "audit_sessions.id", "CASCADE", primary_key=True),
    _reference("asset_id", "assets.id", "CASCADE", primary_key=True),
    _required("found_at", UTCDateTime),
    _required("found_by", String(320)),
)

# One scanned code, as typed by the scanner: the append-only log of an audit.
audit_scans = Table(
    "audit_scans",
    _metadata,
    _id(),
    _reference("session_id", "audit_sessions.id", "CASCADE"),
    _required("code", String(2048)),
    _reference("asset_id", "assets.id", "CASCADE", nullable=True),
    _required("result", String(16)),
    _required("scanned_at", UTCDateTime),
    _required("scanned_by", String(320)),
    # PostgreSQL: the database login that inserted the row (a column default no client may
    # override, see db/grants.py); NULL on SQLite.
    _optional("db_user", String(63)),
    CheckConstraint(f"result IN ({_in(SCAN_RESULTS)})", name="result"),
    Index("ix_audit_scans_session_id_id", "session_id", "id"),
)


if TYPE_CHECKING:
    # The whole schema: every table with every index (see __getattr__).
    metadata: MetaData


def __getattr__(name: str) -> MetaData:
    """`metadata`, the whole schema as migrations, Alembic's comparison and the grants read
    it: built on first use with the dialect-specific indexes (`_dialect_indexes`)."""
    if name != "metadata":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _dialect_indexes(assets_table)
    globals()["metadata"] = _metadata
    return _metadata
