"""The two-step login's attempts (PostgreSQL): a password check is committed, with its
failure counted, before the caller learns its outcome, so rolling it back gains nothing.

Revision ID: 0012_login_attempts
Revises: 0007_security_policy
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_login_attempts"
down_revision: str | None = "0011_audits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("login_event_id", BIG_ID, nullable=True),
        sa.Column("user_id", BIG_ID, nullable=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("db_login", sa.String(63), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proof_ok", sa.Boolean(), nullable=False),
        sa.Column("own_lock", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_verifier", sa.Text(), nullable=True),
        sa.Column("details_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('login', 'password')", name=op.f("ck_login_attempts_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["login_event_id"],
            ["login_events.id"],
            name=op.f("fk_login_attempts_login_event_id_login_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_attempts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_login_event_id", "login_attempts", ["login_event_id"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_login_event_id", table_name="login_attempts")
    op.drop_table("login_attempts")
