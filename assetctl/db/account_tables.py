"""The tables of accounts and their security: users, their sessions and logins (with the
two-step login's attempts), the database logins bound to them, the per-database settings and
the security policy. Part of the schema of record (`db/tables.py`, whose `metadata` holds
them); kept apart because a data command reads none of them: the database checks its token
(`assetctl_verify_token`), so it need not build them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from assetctl.db.tables import (
    UTCDateTime,
    id_column,
    optional,
    reference,
    required,
    shared_metadata,
)

# A person who logs in. `email` is stored lower-cased: unique case-insensitively.
users = Table(
    "users",
    shared_metadata,
    id_column(),
    required("email", String(254), unique=True),
    required("name", String(200)),
    required("role", String(16)),
    # Deferred by the ORM: on PostgreSQL no client role may read it (see
    # core.auth.store.password_hash).
    required("password_hash", String(255)),
    required("active", Boolean),
    required("created_at", UTCDateTime),
    required("updated_at", UTCDateTime),
    # Every token issued before this instant is void (logout --all, password change, disable).
    required("tokens_valid_after", UTCDateTime),
    # The lockout counters, deferred for the same reason: on PostgreSQL no client role may
    # read them (admins see whether an account is locked through core.auth.store.lock_states).
    required("failed_logins", Integer),
    optional("first_failed_at", UTCDateTime),
    optional("locked_until", UTCDateTime),
    optional("last_login_at", UTCDateTime),
    CheckConstraint("role IN ('admin', 'operator', 'viewer')", name="role"),
)

# One issued token, keyed by its `jti`; logout sets `revoked_at`.
sessions = Table(
    "sessions",
    shared_metadata,
    Column("jti", String(64), primary_key=True),
    reference("user_id", "users.id", "CASCADE", index=True),
    required("created_at", UTCDateTime),
    required("expires_at", UTCDateTime),
    optional("revoked_at", UTCDateTime),
    optional("host", String(255)),
    # PostgreSQL: the login the session was opened over; its token works only over it.
    optional("db_login", String(63)),
)

# Per-database settings generated once (e.g. the JWT signing key).
app_meta = Table(
    "app_meta",
    shared_metadata,
    Column("key", String(64), primary_key=True),
    required("value", Text),
)

# One login attempt, successful or not: who, when (database clock), from where.
login_events = Table(
    "login_events",
    shared_metadata,
    id_column(),
    # NULL for an email that matches no user; `email` keeps what was typed.
    reference("user_id", "users.id", "SET NULL", nullable=True),
    required("email", String(254)),
    required("success", Boolean),
    required("at", UTCDateTime),
    # The address detection uses (the first echo answer, else a global database-seen one).
    optional("ip", String(45)),
    # echo | database | unknown | off
    required("ip_source", String(16)),
    # Every echo answer: [{"address": ..., "source": URL}]; two services may disagree.
    required("public_ips", JSON),
    optional("db_client_addr", String(45)),
    optional("hostname", String(255)),
    optional("os_user", String(128)),
    optional("cli_version", String(32)),
    optional("jti", String(64)),
    optional("country", String(2)),
    optional("city", String(200)),
    optional("latitude", Float),
    optional("longitude", Float),
    optional("accuracy_radius", Integer),
    optional("network", String(49)),
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
    shared_metadata,
    # Random (gen_random_uuid()): the opaque id the caller holds between the two steps.
    Column("id", String(36), primary_key=True),
    # The login event the attempt wrote (a password check writes one too).
    reference("login_event_id", "login_events.id", "CASCADE", nullable=True),
    reference("user_id", "users.id", "CASCADE", nullable=True),
    required("purpose", String(16)),
    required("db_login", String(63)),
    # The transaction that made the attempt: the second step must run in another one.
    required("xid", BigInteger),
    required("at", UTCDateTime),
    required("expires_at", UTCDateTime),
    required("proof_ok", Boolean),
    # The lock this attempt's own pessimistic count set (undone by its success), if any.
    optional("own_lock", UTCDateTime),
    # A legacy hash replaced by its verifier when the attempt succeeds.
    optional("new_verifier", Text),
    optional("details_at", UTCDateTime),
    optional("used_at", UTCDateTime),
    CheckConstraint("purpose IN ('login', 'password')", name="purpose"),
    Index("ix_login_attempts_login_event_id", "login_event_id"),
)

# A PostgreSQL login bound to the app user it acts for (`assetctl user add-login`); row-level
# security and the definer functions use it (PostgreSQL only).
db_logins = Table(
    "db_logins",
    shared_metadata,
    Column("login", String(63), primary_key=True),
    reference("user_id", "users.id", "CASCADE", index=True),
    required("created_at", UTCDateTime),
)

# One security policy value set by an admin (`assetctl policy set`); a key without a row has
# its default (assetctl.core.security.policy).
security_policy = Table(
    "security_policy",
    shared_metadata,
    Column("key", String(64), primary_key=True),
    required("value", Text),
    required("updated_at", UTCDateTime),
    optional("updated_by", String(320)),
)
