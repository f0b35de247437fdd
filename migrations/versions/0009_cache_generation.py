"""The cache generation lives in the database: `cache_generations` holds the counter that
every committed change to `assets` bumps inside its own transaction (PostgreSQL triggers,
defined by `assetctl db upgrade`, see assetctl.db.pg_cache), and `cache_pending` is the
one row per writing transaction that makes the bump happen once, at commit.

Revision ID: 0009_cache_generation
Revises: 0007_security_policy
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_cache_generation"
down_revision: str | None = "0007_security_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    generations = op.create_table(
        "cache_generations",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_cache_generations"),
    )
    op.create_table(
        "cache_pending",
        sa.Column("xact", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("xact", name="pk_cache_pending"),
    )
    op.bulk_insert(generations, [{"name": "data", "value": 1}])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The triggers that write these tables go with their functions (CASCADE); the
        # next `db upgrade` re-creates them.
        op.execute("DROP FUNCTION IF EXISTS assetctl_cache_touch() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS assetctl_cache_bump() CASCADE")
    op.drop_table("cache_pending")
    op.drop_table("cache_generations")
