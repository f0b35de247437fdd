"""Machine facts on assets: hardware UUID, operating system and MAC addresses, which
`asset register --self/--facts` collects (the host name came in 0004). The UUID is matched
on when a machine registers again, so it gets the (key, id) index every sortable field has.

Revision ID: 0006_machine_facts
Revises: 0005_db_roles
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_machine_facts"
down_revision: str | None = "0005_db_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("hardware_uuid", sa.String(36), nullable=True))
        batch.add_column(sa.Column("os", sa.String(200), nullable=True))
        batch.add_column(sa.Column("mac_addresses", sa.String(1000), nullable=True))
    op.create_index("ix_assets_hardware_uuid_id", "assets", ["hardware_uuid", "id"])
    op.create_index("ix_assets_os_id", "assets", ["os", "id"])


def downgrade() -> None:
    op.drop_index("ix_assets_os_id", table_name="assets")
    op.drop_index("ix_assets_hardware_uuid_id", table_name="assets")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("mac_addresses")
        batch.drop_column("os")
        batch.drop_column("hardware_uuid")
