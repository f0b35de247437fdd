"""Assets and their change history.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = "deleted_at IS NULL"
SERIAL_ACTIVE = "serial IS NOT NULL AND deleted_at IS NULL"
SORT_COLUMNS = (
    "tag",
    "name",
    "category",
    "status",
    "serial",
    "manufacturer",
    "model",
    "location",
    "assignee",
    "purchase_date",
    "purchase_cost_cents",
    "warranty_until",
    "created_at",
    "updated_at",
)


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("serial", sa.String(128), nullable=True),
        sa.Column("manufacturer", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("purchase_date", sa.Date(), nullable=True),
        sa.Column("purchase_cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("warranty_until", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("description_source", sa.JSON(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('in_stock', 'assigned', 'in_repair', 'retired', 'lost')",
            name=op.f("ck_assets_status"),
        ),
        sa.CheckConstraint(
            "purchase_cost_cents IS NULL OR purchase_cost_cents >= 0",
            name=op.f("ck_assets_cost"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
    )
    op.create_index(
        "uq_assets_tag_active",
        "assets",
        ["tag"],
        unique=True,
        postgresql_where=sa.text(ACTIVE),
        sqlite_where=sa.text(ACTIVE),
    )
    op.create_index(
        "uq_assets_serial_active",
        "assets",
        ["serial"],
        unique=True,
        postgresql_where=sa.text(SERIAL_ACTIVE),
        sqlite_where=sa.text(SERIAL_ACTIVE),
    )
    op.create_index("ix_assets_deleted_at", "assets", ["deleted_at"])
    for column in SORT_COLUMNS:
        key = "purchase_cost" if column == "purchase_cost_cents" else column
        op.create_index(f"ix_assets_{key}_id", "assets", [column, "id"])

    op.create_table(
        "asset_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("asset_id", BIG_ID, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_events_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_events")),
    )
    op.create_index("ix_asset_events_asset_id_id", "asset_events", ["asset_id", "id"])


def downgrade() -> None:
    op.drop_table("asset_events")
    op.drop_table("assets")
