"""The trigram index behind `asset list --search` on PostgreSQL.

`--search` is a case-insensitive substring match over the catalogue's searchable fields. A
B-tree cannot serve `ILIKE '%term%'`; a GIN index of trigrams (the `pg_trgm` extension) can.
One index over the searchable columns joined by a separator serves the whole OR: a term
without the separator matches the joined text exactly when it matches one column, because a
match cannot span a separator it does not contain. One index costs an import far less than
one per column (benchmarks/README.md, "A million assets").

`pg_trgm` is a trusted extension: the database owner (or anyone with CREATE on the database)
may create it. When it cannot be created the migration goes on without the index; search
then scans, `asset list --search` warns, and `assetctl doctor` says how to fix it.
"""

from __future__ import annotations

from typing import Any

from assetctl.core.assets.schema import SEARCHABLE, column

INDEX_NAME = "ix_assets_search"
EXTENSION = "pg_trgm"
# ASCII unit separator. Only the term matters: a term without it cannot match across two
# columns; a term holding it is matched column by column instead (listing.filtered).
SEPARATOR = "\x1f"


# The searchable columns as one text; the index and the query must spell it identically
# for the planner to match them, so both use this string.
# Written as PostgreSQL prints it back (each `||` parenthesised, chr(31) for the separator),
# so Alembic's comparison of the model with the database sees the same expression.
def _joined() -> str:
    first, *rest = (f"coalesce({column(name)}, '')" for name in SEARCHABLE)
    text = first
    for part in rest:
        text = f"(({text} || chr(31)) || {part})"
    return text


SEARCH_TEXT_SQL = _joined()


def create_index_sql(opclass_schema: str | None = None) -> str:
    """`CREATE INDEX` for the trigram index (its operator class qualified by the schema the
    extension lives in, which need not be on the search path)."""
    from assetctl.db.roles import quote

    opclass = f"{quote(opclass_schema)}.gin_trgm_ops" if opclass_schema else "gin_trgm_ops"
    return (
        f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON assets USING gin ({SEARCH_TEXT_SQL} {opclass})"
    )


def _opclass_schema(conn: Any) -> str | None:
    from sqlalchemy import text

    found = conn.execute(
        text(
            "SELECT n.nspname FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace "
            "WHERE c.opcname = 'gin_trgm_ops'"
        )
    ).scalar()
    return None if found is None else str(found)


def ensure(conn: Any) -> bool:
    """Create `pg_trgm` if this login may, and the trigram index if the extension is there.
    Returns whether the index exists afterwards. A refusal (no right to create extensions,
    the extension not installed on the server) is not an error: search scans without it.
    Idempotent: `db upgrade` runs it at head too, so installing pg_trgm later and upgrading
    again creates the index."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    if conn.dialect.name != "postgresql":
        return False
    if _opclass_schema(conn) is None:
        # A savepoint, so a refusal does not abort the migration's transaction.
        try:
            with conn.begin_nested():
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}"))
        except DBAPIError:
            return False
    schema = _opclass_schema(conn)
    if schema is None:
        return False
    if present(conn):
        return True
    try:
        with conn.begin_nested():
            # Building it reads every asset (about a minute at a million on a small
            # server; migrations run without a statement timeout): more memory than the
            # default 64 MB keeps the build in memory.
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            conn.execute(text(create_index_sql(schema)))
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) != "42501":  # only "may not" is expected
            raise
        return False
    return True


def drop(conn: Any) -> None:
    """Drop the index (the extension stays: other applications may use it)."""
    from sqlalchemy import text

    if conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP INDEX IF EXISTS {INDEX_NAME}"))


def present(conn: Any) -> bool:
    """Whether the trigram index exists on `assets` in the current schema (PostgreSQL)."""
    from sqlalchemy import text

    found = conn.execute(
        text(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :name AND i.indrelid = 'assets'::regclass"
        ),
        {"name": INDEX_NAME},
    ).scalar()
    return found is not None


def extension_installed(conn: Any) -> bool:
    from sqlalchemy import text

    found = conn.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": EXTENSION}
    ).scalar()
    return found is not None
