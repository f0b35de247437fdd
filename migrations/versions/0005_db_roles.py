"""PostgreSQL enforces the roles: history rows name the database login, and logins are
bound to app users. The roles, grants, functions and triggers themselves are applied by
`assetctl db upgrade` after every migration run (assetctl/db/security.py), not frozen here.

Revision ID: 0005_db_roles
Revises: 0004_hostname
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetctl.db.tables import UTCDateTime

revision: str = "0005_db_roles"
down_revision: str | None = "0004_hostname"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("asset_events") as batch:
        batch.add_column(sa.Column("db_user", sa.String(63), nullable=True))
        batch.add_column(sa.Column("xact", sa.BigInteger(), nullable=True))
    op.create_table(
        "db_logins",
        sa.Column("login", sa.String(63), nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_db_logins_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("login", name="pk_db_logins"),
    )
    op.create_index("ix_db_logins_user_id", "db_logins", ["user_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The triggers write the columns dropped below; the security step recreates them.
        op.execute("DROP TRIGGER IF EXISTS assets_history_insert ON assets")
        op.execute("DROP TRIGGER IF EXISTS assets_history_update ON assets")
    op.drop_index("ix_db_logins_user_id", table_name="db_logins")
    op.drop_table("db_logins")
    with op.batch_alter_table("asset_events") as batch:
        batch.drop_column("xact")
        batch.drop_column("db_user")
