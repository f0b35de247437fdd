"""Leaner writes for a million assets: the sort indexes that do not earn their keep go, the
nullable keys' indexes hold only their values, and `asset_events` loses its foreign key.

Measured with 100,000 imported rows and 1,000,000 assets (benchmarks/README.md, "A million
assets"): each (key, id) B-tree cost an import about 8 % more, while a page sorted by a key
without one is a top-N sort of a parallel scan, about 0.1 s at 1,000,000 assets. Kept:
`name` and `updated_at` (the everyday sorts), and partial indexes on the values of
`assignee`, `hostname`, `hardware_uuid` (lookups of a person's or a machine's assets,
fleet registration), `warranty_until` (`report warranty`) and `last_audited_at`
(`report unaudited`), which an import of assets without those values does not touch.

The history's foreign key re-locked every new asset (FOR KEY SHARE) for a check the trigger
makes pointless; it was the largest single cost of an import.

Revision ID: 0013_lean_indexes
Revises: 0012_login_attempts
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_lean_indexes"
down_revision: str | None = "0012_login_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, column) as of this revision.
_DROPPED = (
    ("ix_assets_category_id", "category"),
    ("ix_assets_status_id", "status"),
    ("ix_assets_manufacturer_id", "manufacturer"),
    ("ix_assets_model_id", "model"),
    ("ix_assets_location_id", "location"),
    ("ix_assets_purchase_date_id", "purchase_date"),
    ("ix_assets_purchase_cost_id", "purchase_cost_cents"),
    ("ix_assets_created_at_id", "created_at"),
    ("ix_assets_os_id", "os"),
)
_PARTIAL = (
    ("ix_assets_assignee_id", "assignee"),
    ("ix_assets_warranty_until_id", "warranty_until"),
    ("ix_assets_hostname_id", "hostname"),
    ("ix_assets_hardware_uuid_id", "hardware_uuid"),
    ("ix_assets_last_audited_at_id", "last_audited_at"),
)
_HISTORY_FK = "fk_asset_events_asset_id_assets"


def _create_partial(name: str, column: str) -> None:
    where = sa.text(f"{column} IS NOT NULL")
    op.create_index(name, "assets", [column, "id"], postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    for name, _ in _DROPPED:
        op.drop_index(name, table_name="assets")
    for name, column in _PARTIAL:
        op.drop_index(name, table_name="assets")
        _create_partial(name, column)
    with op.batch_alter_table("asset_events") as batch:
        batch.drop_constraint(_HISTORY_FK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("asset_events") as batch:
        batch.create_foreign_key(_HISTORY_FK, "assets", ["asset_id"], ["id"], ondelete="CASCADE")
    for name, column in _PARTIAL:
        op.drop_index(name, table_name="assets")
        op.create_index(name, "assets", [column, "id"])
    for name, column in _DROPPED:
        op.create_index(name, "assets", [column, "id"])
