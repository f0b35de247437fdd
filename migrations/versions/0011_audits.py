"""Physical audits: audit sessions, the assets each expects (snapshotted at its start) and
found, the append-only scan log, and `last_audited_at` / `audited_by` on assets.

Revision ID: 0011_audits
Revises: 0007_security_policy
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetctl.db.tables import UTCDateTime

revision: str = "0011_audits"
down_revision: str | None = "0010_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("last_audited_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("audited_by", sa.String(320), nullable=True))
    op.create_index("ix_assets_last_audited_at_id", "assets", ["last_audited_at", "id"])
    op.create_table(
        "audit_sessions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True, nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(320), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(320), nullable=True),
        sa.Column("outcome", sa.JSON(none_as_null=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_audit_sessions_status")),
        sa.PrimaryKeyConstraint("id", name="pk_audit_sessions"),
    )
    op.create_index("ix_audit_sessions_status_id", "audit_sessions", ["status", "id"])
    for table in ("audit_expected", "audit_found"):
        extra = (
            [sa.Column("found_at", UTCDateTime(), nullable=False),
             sa.Column("found_by", sa.String(320), nullable=False)]
            if table == "audit_found" else []
        )  # fmt: skip
        op.create_table(
            table,
            sa.Column(
                "session_id",
                _ID,
                sa.ForeignKey(
                    "audit_sessions.id",
                    name=f"fk_{table}_session_id_audit_sessions",
                    ondelete="CASCADE",
                ),
                nullable=False,
            ),
            sa.Column(
                "asset_id",
                _ID,
                sa.ForeignKey("assets.id", name=f"fk_{table}_asset_id_assets", ondelete="CASCADE"),
                nullable=False,
            ),
            *extra,
            sa.PrimaryKeyConstraint("session_id", "asset_id", name=f"pk_{table}"),
        )
    op.create_table(
        "audit_scans",
        sa.Column("id", _ID, primary_key=True, autoincrement=True, nullable=False),
        sa.Column(
            "session_id",
            _ID,
            sa.ForeignKey(
                "audit_sessions.id",
                name="fk_audit_scans_session_id_audit_sessions",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("code", sa.String(2048), nullable=False),
        sa.Column(
            "asset_id",
            _ID,
            sa.ForeignKey("assets.id", name="fk_audit_scans_asset_id_assets", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("scanned_at", UTCDateTime(), nullable=False),
        sa.Column("scanned_by", sa.String(320), nullable=False),
        sa.Column("db_user", sa.String(63), nullable=True),
        sa.CheckConstraint(
            "result IN ('found', 'unexpected', 'again', 'unknown')",
            name=op.f("ck_audit_scans_result"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_scans"),
    )
    op.create_index("ix_audit_scans_session_id_id", "audit_scans", ["session_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # Who inserted a scan, in the database's own words: no client role may write this
        # column (see assetctl.db.grants), so the default always applies.
        op.execute("ALTER TABLE audit_scans ALTER COLUMN db_user SET DEFAULT session_user")


def downgrade() -> None:
    op.drop_index("ix_audit_scans_session_id_id", table_name="audit_scans")
    op.drop_table("audit_scans")
    op.drop_table("audit_found")
    op.drop_table("audit_expected")
    op.drop_index("ix_audit_sessions_status_id", table_name="audit_sessions")
    op.drop_table("audit_sessions")
    op.drop_index("ix_assets_last_audited_at_id", table_name="assets")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("audited_by")
        batch.drop_column("last_audited_at")
