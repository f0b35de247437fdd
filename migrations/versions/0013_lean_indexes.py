"""Leaner writes for a million assets: `asset_events` loses its foreign key, and the sort
indexes of nullable keys hold only their values.

Measured with COPY of 100,000 rows into an empty `assets` (benchmarks/README.md, "A million
assets"): the history's foreign key re-locked every new asset (FOR KEY SHARE) for a check
the trigger makes pointless, and was the largest single cost of an import (1.1 s of 6.1 s).
An asset without, say, a host name or a purchase date no longer enters those indexes: the
listing pages the NULL tail of a key by id. Every sort key keeps its index: without one, a
page sorted by it at 1,000,000 assets cost 0.2 s more than at 1,000 (over the 1.5x target).

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

# (index, column) of every nullable sort key as of this revision.
_NULLABLE_KEYS = (
    ("ix_assets_manufacturer_id", "manufacturer"),
    ("ix_assets_model_id", "model"),
    ("ix_assets_location_id", "location"),
    ("ix_assets_assignee_id", "assignee"),
    ("ix_assets_purchase_date_id", "purchase_date"),
    ("ix_assets_purchase_cost_id", "purchase_cost_cents"),
    ("ix_assets_warranty_until_id", "warranty_until"),
    ("ix_assets_hostname_id", "hostname"),
    ("ix_assets_hardware_uuid_id", "hardware_uuid"),
    ("ix_assets_os_id", "os"),
    ("ix_assets_last_audited_at_id", "last_audited_at"),
)
_HISTORY_FK = "fk_asset_events_asset_id_assets"


def upgrade() -> None:
    for name, column in _NULLABLE_KEYS:
        op.drop_index(name, table_name="assets")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "assets", [column, "id"], postgresql_where=where, sqlite_where=where)
    with op.batch_alter_table("asset_events") as batch:
        batch.drop_constraint(_HISTORY_FK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("asset_events") as batch:
        batch.create_foreign_key(_HISTORY_FK, "assets", ["asset_id"], ["id"], ondelete="CASCADE")
    for name, column in _NULLABLE_KEYS:
        op.drop_index(name, table_name="assets")
        op.create_index(name, "assets", [column, "id"])
