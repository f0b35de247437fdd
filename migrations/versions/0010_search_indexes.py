"""Indexes for a million assets: a trigram index serves `asset list --search` on PostgreSQL
(when pg_trgm can be created); the `deleted_at` index holds only deleted rows, so inserting
and importing active assets no longer maintains it; `(tag, id)` and `(serial, id)` go, as
the unique indexes on tag and serial already give those orders. Each index on `assets` and
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
down_revision: str | None = "0009_cache_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Sort indexes the unique indexes make redundant.
_REDUNDANT = (("ix_assets_tag_id", "tag"), ("ix_assets_serial_id", "serial"))


def upgrade() -> None:
    for name, _ in _REDUNDANT:
        op.drop_index(name, table_name="assets")
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
    for name, field in _REDUNDANT:
        op.create_index(name, "assets", [field, "id"])
