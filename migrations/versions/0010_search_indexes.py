"""Indexes for a million assets: a trigram index serves `asset list --search` on PostgreSQL
(when pg_trgm can be created), and the `deleted_at` index holds only deleted rows, so
inserting and importing active assets no longer maintains it. Each index on `assets` and
the query it serves are in benchmarks/README.md ("A million assets").

Revision ID: 0010_search_indexes
Revises: 0007_security_policy
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetctl.db import search_index

revision: str = "0010_search_indexes"
down_revision: str | None = "0007_security_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_assets_deleted_at", table_name="assets")
    op.create_index(
        "ix_assets_deleted_at",
        "assets",
        ["deleted_at"],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
    )
    # Without the right to create pg_trgm (or without the extension on the server) the
    # upgrade goes on: search scans, and `assetctl doctor` says so.
    search_index.ensure(op.get_bind())


def downgrade() -> None:
    search_index.drop(op.get_bind())
    op.drop_index("ix_assets_deleted_at", table_name="assets")
    op.create_index("ix_assets_deleted_at", "assets", ["deleted_at"])
