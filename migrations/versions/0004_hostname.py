"""Assets get a host name (machine self-registration matches and shows it), and the
database holds every row to the status/assignee rules the CLI and imports enforce.

Revision ID: 0004_hostname
Revises: 0003_security_alerts
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_hostname"
down_revision: str | None = "0003_security_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The rulebook's rules (`core/assets/rules.py`) as they stood at this revision.
ASSIGNMENT_CHECK = (
    "NOT ((status = 'assigned' AND assignee IS NULL) OR "
    "(assignee IS NOT NULL AND status IN ('retired', 'lost')) OR "
    "(assignee IS NOT NULL AND status <> 'assigned'))"
)


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("hostname", sa.String(255), nullable=True))
        batch.create_check_constraint("assignment", ASSIGNMENT_CHECK)
    # Every sortable field has a (key, id) index for keyset pagination.
    op.create_index("ix_assets_hostname_id", "assets", ["hostname", "id"])


def downgrade() -> None:
    op.drop_index("ix_assets_hostname_id", table_name="assets")
    with op.batch_alter_table("assets") as batch:
        batch.drop_constraint("assignment", type_="check")
        batch.drop_column("hostname")
