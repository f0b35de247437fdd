"""The tables of physical audits (`assetctl audit`). Part of the schema of record
(`db/tables.py`, whose `metadata` holds them); kept apart because no other command reads
them."""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Index, String, Table

from assetctl.db.tables import (
    UTCDateTime,
    id_column,
    optional,
    reference,
    required,
    shared_metadata,
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
    shared_metadata,
    id_column(),
    required("location", String(200)),
    optional("category", String(64)),
    required("status", String(16)),
    required("started_at", UTCDateTime),
    required("started_by", String(320)),
    optional("closed_at", UTCDateTime),
    optional("closed_by", String(320)),
    # What `audit close` applied: its options and the counts.
    optional("outcome", JSON(none_as_null=True)),
    CheckConstraint(f"status IN ({_in(AUDIT_STATUSES)})", name="status"),
    Index("ix_audit_sessions_status_id", "status", "id"),
)

# An asset an audit expects to find: the snapshot taken when it started.
audit_expected = Table(
    "audit_expected",
    shared_metadata,
    reference("session_id", "audit_sessions.id", "CASCADE", primary_key=True),
    reference("asset_id", "assets.id", "CASCADE", primary_key=True),
)

# An asset an audit found (expected there or not): its first scan's time and person. The
# primary key is what makes concurrent scanners count an asset once.
audit_found = Table(
    "audit_found",
    shared_metadata,
    reference("session_id", "audit_sessions.id", "CASCADE", primary_key=True),
    reference("asset_id", "assets.id", "CASCADE", primary_key=True),
    required("found_at", UTCDateTime),
    required("found_by", String(320)),
)

# One scanned code, as typed by the scanner: the append-only log of an audit.
audit_scans = Table(
    "audit_scans",
    shared_metadata,
    id_column(),
    reference("session_id", "audit_sessions.id", "CASCADE"),
    required("code", String(2048)),
    reference("asset_id", "assets.id", "CASCADE", nullable=True),
    required("result", String(16)),
    required("scanned_at", UTCDateTime),
    required("scanned_by", String(320)),
    # PostgreSQL: the database login that inserted the row (a column default no client may
    # override, see db/grants.py); NULL on SQLite.
    optional("db_user", String(63)),
    CheckConstraint(f"result IN ({_in(SCAN_RESULTS)})", name="result"),
    Index("ix_audit_scans_session_id_id", "session_id", "id"),
)
