"""SQLAlchemy models: the schema of record. Migrations in `migrations/versions` mirror it
exactly (a test runs Alembic's autogenerate comparison to prove there is no drift)."""

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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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


def _reference(target: str, on_delete: str, **options: Any) -> Any:
    """A key column referencing `target` ("table.column"), typed like the ids it holds."""
    return mapped_column(BigId, ForeignKey(target, ondelete=on_delete), **options)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


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
    CHECK constraints."""
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
        Base.metadata,
        *columns,
        CheckConstraint(rules.STATUS_CHECK, name="status"),
        CheckConstraint(rules.ASSIGNMENT_CHECK, name="assignment"),
        # Named "cost" since the first release.
        *(CheckConstraint(f"{col} IS NULL OR {col} >= 0", name="cost") for col in money),
        *(_unique_when_active(name) for name in UNIQUE_WHEN_ACTIVE),
        # `--deleted` reads the few deleted rows; the index holds only them, so it costs
        # nothing to insert or import active assets.
        Index(
            "ix_assets_deleted_at",
            "deleted_at",
            postgresql_where=DELETED,
            sqlite_where=DELETED,
        ),
        # A unique key needs no sort index: its unique index gives the order (ties are
        # impossible among active assets).
        *(
            _sort_index(field)
            for field in FIELDS
            if field.sortable and field.kind is not Kind.ID and field.name not in UNIQUE_WHEN_ACTIVE
        ),
        _search_index(),
    )


def _sort_index(field: Field) -> Index:
    """`ix_assets_<field>_id`: keyset pages of `--sort FIELD` read (FIELD, id) in order (a
    top-N sort of every asset instead cost 0.2 s at 1,000,000 assets), and `--FIELD VALUE`
    finds its rows. A nullable field's index holds only its values (listing pages its NULL
    tail by id), so writing an asset without that value costs the index nothing."""
    key = column(field.name)
    where = text(f"{key} IS NOT NULL") if field.nullable else None
    name = f"ix_assets_{field.name}_id"
    return Index(name, key, "id", postgresql_where=where, sqlite_where=where)


def _unique_when_active(name: str) -> Index:
    """`uq_assets_<name>_active`: unique among active assets, and among present values."""
    where = (
        text(f"{column(name)} IS NOT NULL AND deleted_at IS NULL")
        if BY_NAME[name].nullable
        else ACTIVE
    )
    return Index(
        f"uq_assets_{name}_active",
        column(name),
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


class Asset(Base):
    """An asset. Its columns come from the field catalogue (`core/assets/schema.py`), so
    they are attributes of the same names (`purchase_cost_cents` for the cost)."""

    __table__ = assets_table

    # The ORM adds `AND version = :old` to every UPDATE: of two writers that read the same
    # version, exactly one succeeds and the other gets StaleDataError (exit 6).
    __mapper_args__ = {"version_id_col": assets_table.c.version}  # noqa: RUF012

    if TYPE_CHECKING:
        # The column attributes are made by the mapper from the catalogue at import time.
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...


class AssetEvent(Base):
    """One change to one asset: who, when, what, and each field's old -> new value."""

    __tablename__ = "asset_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No foreign key, on purpose: only the history trigger (and on SQLite the CLI) writes
    # events, always for the row it just wrote, so the check proved nothing, yet it locked
    # every new asset row again (FOR KEY SHARE) and cost an import more than all the rest of
    # its history. And an audit trail should outlive a hard delete (only the owner can do
    # one), not cascade away with it.
    asset_id: Mapped[int] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    # PostgreSQL: the database login that made the change and its transaction, written by
    # the history trigger (see db/history_trigger.py); NULL on SQLite.
    db_user: Mapped[str | None] = mapped_column(String(63))
    xact: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_asset_events_asset_id_id", "asset_id", "id"),)


class User(Base):
    """A person who logs in. `email` is stored lower-cased: unique case-insensitively."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # Deferred: on PostgreSQL no client role may read it (see core.auth.store.password_hash).
    password_hash: Mapped[str] = mapped_column(String(255), deferred=True)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Every token issued before this instant is void (logout --all, password change, disable).
    tokens_valid_after: Mapped[datetime] = mapped_column(UTCDateTime)
    # The lockout counters, deferred for the same reason: on PostgreSQL no client role may
    # read them (admins see whether an account is locked through core.auth.store.lock_states).
    failed_logins: Mapped[int] = mapped_column(Integer, deferred=True)
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, deferred=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, deferred=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("role IN ('admin', 'operator', 'viewer')", name="role"),)


class AuthSession(Base):
    """One issued token, keyed by its `jti`; logout sets `revoked_at`."""

    __tablename__ = "sessions"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = _reference("users.id", "CASCADE", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    host: Mapped[str | None] = mapped_column(String(255))
    # PostgreSQL: the login the session was opened over; its token works only over it.
    db_login: Mapped[str | None] = mapped_column(String(63))


class Meta(Base):
    """Per-database settings generated once (e.g. the JWT signing key)."""

    __tablename__ = "app_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LoginEvent(Base):
    """One login attempt, successful or not: who, when (database clock), from where."""

    __tablename__ = "login_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # NULL for an email that matches no user; `email` keeps what was typed.
    user_id: Mapped[int | None] = _reference("users.id", "SET NULL")
    email: Mapped[str] = mapped_column(String(254))
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The address detection uses (the first echo answer, else a global database-seen one).
    ip: Mapped[str | None] = mapped_column(String(45))
    # echo | database | unknown | off
    ip_source: Mapped[str] = mapped_column(String(16))
    # Every echo answer: [{"address": ..., "source": URL}]; two services may disagree.
    public_ips: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    db_client_addr: Mapped[str | None] = mapped_column(String(45))
    hostname: Mapped[str | None] = mapped_column(String(255))
    os_user: Mapped[str | None] = mapped_column(String(128))
    cli_version: Mapped[str | None] = mapped_column(String(32))
    jti: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_radius: Mapped[int | None] = mapped_column(Integer)
    network: Mapped[str | None] = mapped_column(String(49))

    __table_args__ = (
        CheckConstraint("ip_source IN ('echo', 'database', 'unknown', 'off')", name="ip_source"),
        # Detection reads a user's successful logins newest first; history reads all.
        Index("ix_login_events_user_id_success_at", "user_id", "success", "at"),
        Index("ix_login_events_email_id", "email", "id"),
    )


class LoginAttempt(Base):
    """PostgreSQL: one password check of the two-step login (`assetctl_login_attempt`, then
    `assetctl_login_finish` or `assetctl_set_password` in a later transaction). No client
    role reads it: `proof_ok` is the secret outcome the caller learns only after it has
    committed the attempt (and with it the failure counted pessimistically)."""

    __tablename__ = "login_attempts"

    # Random (gen_random_uuid()): the opaque id the caller holds between the two steps.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The login event the attempt wrote (a password check writes one too).
    login_event_id: Mapped[int | None] = _reference("login_events.id", "CASCADE")
    user_id: Mapped[int | None] = _reference("users.id", "CASCADE")
    purpose: Mapped[str] = mapped_column(String(16))
    db_login: Mapped[str] = mapped_column(String(63))
    # The transaction that made the attempt: the second step must run in another one.
    xid: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proof_ok: Mapped[bool] = mapped_column(Boolean)
    # The lock this attempt's own pessimistic count set (undone by its success), if any.
    own_lock: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A legacy hash replaced by its verifier when the attempt succeeds.
    new_verifier: Mapped[str | None] = mapped_column(Text)
    details_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("purpose IN ('login', 'password')", name="purpose"),
        Index("ix_login_attempts_login_event_id", "login_event_id"),
    )


class SecurityAlert(Base):
    """A login from a location not seen for that user before."""

    __tablename__ = "security_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _reference("users.id", "CASCADE")
    login_event_id: Mapped[int | None] = _reference("login_events.id", "SET NULL")
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    # What was new (an IP, an IPv6 /64, a country, a from>to pair): the 24 h dedupe key.
    location: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(320))

    __table_args__ = (
        CheckConstraint(
            "kind IN ('new_ip', 'new_country', 'impossible_travel', 'unknown_ip')", name="kind"
        ),
        CheckConstraint("severity IN ('warning', 'high', 'critical')", name="severity"),
        Index("ix_security_alerts_user_id_kind_location_at", "user_id", "kind", "location", "at"),
        Index("ix_security_alerts_at", "at"),
    )


class AlertDelivery(Base):
    """One notification of one alert through one channel; pending until it succeeds."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = _reference("security_alerts.id", "CASCADE")
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    # Why the last attempt failed, never with a secret (no URL path, no password).
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A pending delivery is retried once this has passed (backoff, or a claim's lease).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("channel IN ('log', 'webhook', 'email')", name="channel"),
        CheckConstraint("status IN ('pending', 'delivered')", name="status"),
        # The after-every-command retry check is one range scan of this index.
        Index("ix_alert_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_alert_id", "alert_id"),
    )


class DbLogin(Base):
    """A PostgreSQL login bound to the app user it acts for (`assetctl user add-login`);
    row-level security and the definer functions use it (PostgreSQL only)."""

    __tablename__ = "db_logins"

    login: Mapped[str] = mapped_column(String(63), primary_key=True)
    user_id: Mapped[int] = _reference("users.id", "CASCADE", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SecurityPolicy(Base):
    """One security policy value set by an admin (`assetctl policy set`); a key without a
    row has its default (assetctl.core.security.policy)."""

    __tablename__ = "security_policy"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(320))


class CacheGeneration(Base):
    """A counter every committed change to what cached answers hold bumps in its own
    transaction (PostgreSQL triggers, `assetctl.db.pg_cache`); Redis entries are keyed by it.
    No client role may write it."""

    __tablename__ = "cache_generations"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class CachePending(Base):
    """One row per transaction that changed `assets`, inserted by a statement trigger and
    removed at commit by the deferred trigger that bumps the generation (so the counter's row
    is locked only while committing)."""

    __tablename__ = "cache_pending"

    xact: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


# Physical audits (`assetctl audit`): a session per walk through a location, the assets it
# expects (snapshotted when it starts), the assets found (one row per asset: scanning it
# twice, or two people scanning it at once, counts once), and every scan, append-only.
AUDIT_STATUSES = ("open", "closed")
# What one scan was: the first scan of an expected asset, of an asset expected elsewhere,
# a repeat of an asset already found in this session, or a code that names no asset.
SCAN_RESULTS = ("found", "unexpected", "again", "unknown")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class AuditSession(Base):
    """One physical audit of a location (optionally one category of assets)."""

    __tablename__ = "audit_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    location: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(320))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(320))
    # What `audit close` applied: its options and the counts.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(AUDIT_STATUSES)})", name="status"),
        Index("ix_audit_sessions_status_id", "status", "id"),
    )


class AuditExpected(Base):
    """An asset an audit expects to find: the snapshot taken when it started."""

    __tablename__ = "audit_expected"

    session_id: Mapped[int] = _reference("audit_sessions.id", "CASCADE", primary_key=True)
    asset_id: Mapped[int] = _reference("assets.id", "CASCADE", primary_key=True)


class AuditFound(Base):
    """An asset an audit found (expected there or not): its first scan's time and person.
    The primary key is what makes concurrent scanners count an asset once."""

    __tablename__ = "audit_found"

    session_id: Mapped[int] = _reference("audit_sessions.id", "CASCADE", primary_key=True)
    asset_id: Mapped[int] = _reference("assets.id", "CASCADE", primary_key=True)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    found_by: Mapped[str] = mapped_column(String(320))


class AuditScan(Base):
    """One scanned code, as typed by the scanner: the append-only log of an audit."""

    __tablename__ = "audit_scans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = _reference("audit_sessions.id", "CASCADE")
    code: Mapped[str] = mapped_column(String(2048))
    asset_id: Mapped[int | None] = _reference("assets.id", "CASCADE")
    result: Mapped[str] = mapped_column(String(16))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scanned_by: Mapped[str] = mapped_column(String(320))
    # PostgreSQL: the database login that inserted the row (a column default no client may
    # override, see db/grants.py); NULL on SQLite.
    db_user: Mapped[str | None] = mapped_column(String(63))

    __table_args__ = (
        CheckConstraint(f"result IN ({_in(SCAN_RESULTS)})", name="result"),
        Index("ix_audit_scans_session_id_id", "session_id", "id"),
    )
