"""Issue 19, part 2: `asset list --search` served by a trigram index on PostgreSQL.

The index must keep exactly the meaning search had (case-insensitive substring over the
searchable fields, `%`, `_` and `\\` literal, case folded beyond ASCII), the planner must be
able to use it for the query the listing really issues, and a database without pg_trgm must
still answer, with a warning and a word from `doctor`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from assetctl.core.assets.listing import Sort, fetch_page, filtered, make_filters, ordered
from assetctl.db import search_index
from assetctl.db.engine import unit_of_work
from assetctl.db.tables import assets_table
from tests.asset_fixtures import connect
from tests.conftest import (
    NO_IP_LOOKUP,
    Cli,
    Database,
    base_env,
    bootstrap_admin,
    create_pg_database,
    drop_pg_database,
    pg_url_for,
)

# (tag, name, serial, model, assignee): what the meaning tests search through.
ROWS = [
    ("pct", "50% off", None, None, None),
    ("under", "a_b", None, None, None),
    ("plain", "a-b 500 off", None, None, None),
    ("slash", "back\\slash", None, None, None),
    ("U-1", "Écran", None, None, "Jürgen Müller"),
    ("split", "ab", "cd-serial", None, None),
    ("model", "x", "SN-XyZ-9", "ThinkPad T14", None),
]
# term -> tags it must find, whatever the backend and whether the index is used.
EXPECTED = {
    "%": ["pct"],
    "50%": ["pct"],
    "_": ["under"],
    "a_b": ["under"],
    "\\": ["slash"],
    "back\\s": ["slash"],
    "müller": ["U-1"],
    "MÜLLER": ["U-1"],
    "écran": ["U-1"],
    "xyz-9": ["model"],
    "thinkpad t1": ["model"],
    # The joined text is "split\x1fab\x1fcd-serial...": no match may span two fields.
    "abcd": [],
    "b cd": [],
    "ab\x1fcd": [],
    "'; drop table assets; --": [],
}


def _insert(url: str, rows: list[tuple[str, ...]] | list[tuple[Any, ...]]) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for tag, name, serial, model, assignee in rows:
                conn.execute(
                    text(
                        "INSERT INTO assets (tag, name, category, status, serial, model, "
                        "assignee, version, created_at, updated_at, created_by, updated_by) "
                        "VALUES (:tag, :name, 'laptop', :status, :serial, :model, :assignee, "
                        "1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'test', 'test')"
                    ),
                    {
                        "tag": tag,
                        "name": name,
                        "serial": serial,
                        "model": model,
                        "assignee": assignee,
                        "status": "assigned" if assignee else "in_stock",
                    },
                )
            if conn.dialect.name == "postgresql":
                conn.execute(text("ANALYZE assets"))
    finally:
        engine.dispose()


def _search(url: str, term: str, *, force_index: bool) -> list[str]:
    """Tags found by the listing for `term`; `force_index` leaves PostgreSQL's planner only
    bitmap scans, so the trigram index answers."""
    with unit_of_work(url) as session:
        if force_index:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            session.execute(text("SET LOCAL enable_indexscan = off"))
        filters = make_filters({}, search=term, deleted=False)
        page = fetch_page(session, filters, Sort(), 1000, None)
    return [row["tag"] for row in page.rows]


def _folds_beyond_ascii(url: str) -> bool:
    if not url.startswith("postgresql"):
        return True  # the engine registers a Unicode lower() on SQLite
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT lower('Ü') = 'ü'")).scalar_one())
    finally:
        engine.dispose()


def test_search_meaning_is_unchanged(database: Database) -> None:
    """Every term finds the same assets on SQLite, and on PostgreSQL with and without the
    trigram index doing the work."""
    _insert(database.url, ROWS)
    postgres = database.url.startswith("postgresql")
    folds = _folds_beyond_ascii(database.url)
    for term, tags in EXPECTED.items():
        if not folds and any(ord(ch) > 127 for ch in term):
            continue
        assert _search(database.url, term, force_index=False) == tags, term
        if postgres:
            assert _search(database.url, term, force_index=True) == tags, term


@pytest.mark.postgres
def test_explain_uses_the_trigram_index(pg_database: str) -> None:
    url = pg_database
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE assets, asset_events RESTART IDENTITY CASCADE"))
            conn.execute(
                text(
                    "INSERT INTO assets (tag, name, category, status, version, created_at, "
                    "updated_at, created_by, updated_by) SELECT 'T-' || i, 'Laptop ' || i, "
                    "'laptop', 'in_stock', 1, now(), now(), 't', 't' "
                    "FROM generate_series(1, 3000) AS i"
                )
            )
            conn.execute(text("ANALYZE assets"))
        filters = make_filters({}, search="aptop 1234", deleted=False)
        stmt = ordered(filtered(select(assets_table), filters, postgres=True), Sort())
        sql = str(
            stmt.limit(51).compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        )
        with engine.begin() as conn:
            # Only bitmap scans are left: the trigram index is the one that can answer.
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            conn.execute(text("SET LOCAL enable_indexscan = off"))
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
            assert f"Bitmap Index Scan on {search_index.INDEX_NAME}" in plan, plan
            rows = conn.exec_driver_sql(sql).all()
        assert [row.tag for row in rows] == ["T-1234"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE assets, asset_events RESTART IDENTITY CASCADE"))
        engine.dispose()


@pytest.fixture
def trgm_less_db(tmp_path: Path) -> Iterator[tuple[str, Cli]]:
    """A migrated database of its own whose pg_trgm extension (and so the index) was
    dropped, with the CLI logged in as its admin."""
    from assetctl.db.migrate import upgrade

    name = create_pg_database()
    url = pg_url_for(name)
    try:
        upgrade(url)
        token = bootstrap_admin(url)
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP EXTENSION pg_trgm CASCADE"))
        finally:
            engine.dispose()
        env = base_env(tmp_path, url)
        yield url, Cli({**env, "ASSETCTL_TOKEN": token, **NO_IP_LOOKUP})
    finally:
        drop_pg_database(name)


WARNING = "--search is not indexed on this database (no pg_trgm trigram index)"


@pytest.mark.postgres
def test_without_pg_trgm_search_scans_with_one_warning(trgm_less_db: tuple[str, Cli]) -> None:
    url, cli = trgm_less_db
    _insert(url, [(f"W-{i:04d}", f"Widget {i}", None, None, None) for i in range(2500)])
    listed = cli.sub("asset", "list", "--search", "WIDGET 123", "-o", "json", "--no-cache")
    assert listed.exit_code == 0, listed.stderr
    tags = [item["tag"] for item in listed.json()["items"]]
    assert tags == ["W-0123", *(f"W-{i:04d}" for i in range(1230, 1240))]
    assert listed.stderr.count(WARNING) == 1, listed.stderr
    assert "run `assetctl doctor`" in listed.stderr
    # --all reads in batches of 1,000: still one warning.
    every = cli.sub("asset", "list", "--search", "widget", "--all", "-o", "csv")
    assert every.exit_code == 0, every.stderr
    assert len(every.stdout.splitlines()) == 2501
    assert every.stderr.count(WARNING) == 1, every.stderr
    # No search, no warning.
    assert WARNING not in cli.sub("asset", "list", "--no-cache").stderr
    # -q silences it like every other warning.
    assert WARNING not in cli.sub("-q", "asset", "list", "--search", "widget").stderr


@pytest.mark.postgres
def test_doctor_reports_a_missing_pg_trgm_and_upgrade_repairs_it(
    trgm_less_db: tuple[str, Cli],
) -> None:
    _, cli = trgm_less_db
    doctor = cli.sub("doctor")
    line = next(x for x in doctor.stdout.splitlines() if " search " in f" {x} ")
    assert line.startswith("WARN search"), doctor.stdout
    assert "the pg_trgm extension is missing" in line
    assert "assetctl db upgrade" in line
    # A warning, not a failure: search works, only slower.
    assert doctor.exit_code == 0, doctor.stdout
    # The owner's `db upgrade` creates the trusted extension and the index again, though the
    # schema is already at head.
    cli.ok("db", "upgrade")
    healed = cli.sub("doctor")
    line = next(x for x in healed.stdout.splitlines() if " search " in f" {x} ")
    assert line.startswith("ok") and "indexed" in line, healed.stdout
    listed = cli.sub("asset", "list", "--search", "anything")
    assert listed.exit_code == 0 and WARNING not in listed.stderr


def test_doctor_has_no_search_line_on_sqlite(sqlite_cli: Cli) -> None:
    assert " search " not in sqlite_cli.ok("doctor").stdout


@pytest.mark.postgres
def test_every_sort_key_pages_from_an_index(pg_database: str) -> None:
    """Each query a page of `--sort KEY[:desc]` issues (both parts for a nullable key: its
    values, then its NULL tail) reads an index in order: with sorting and sequential scans
    priced out, no plan holds a full Sort (an Incremental Sort over a unique index's order
    is fine). A new sortable field without its index fails here."""
    import re

    from assetctl.core.assets.listing import _select_page
    from assetctl.core.assets.schema import SORTABLE

    url = pg_database
    _insert(url, ROWS)
    full_sort = re.compile(r"^\s*(->\s+)?Sort\s+\(cost", re.MULTILINE)
    try:
        with unit_of_work(url) as session:
            issued: list[str] = []
            execute = session.execute

            def spy(stmt: Any, *args: Any, **kwargs: Any) -> Any:
                compiled = stmt.compile(
                    dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
                )
                issued.append(str(compiled))
                return execute(stmt, *args, **kwargs)

            session.execute = spy  # type: ignore[method-assign, assignment]
            execute(text("SET LOCAL enable_sort = off"))
            execute(text("SET LOCAL enable_seqscan = off"))
            filters = make_filters({}, search=None, deleted=False)
            for key in SORTABLE:
                for sort in (Sort(key), Sort(key, descending=True)):
                    for after in (None, ("x", 1) if key in ("tag", "name") else None):
                        issued.clear()
                        _select_page(session, filters, sort, 51, after)
                        assert issued
                        for sql in issued:
                            plan = "\n".join(row[0] for row in execute(text("EXPLAIN " + sql)))
                            assert not full_sort.search(plan), f"--sort {sort}\n{plan}"
    finally:
        _truncate_assets(url)


@pytest.mark.postgres
def test_assets_has_exactly_the_indexes_the_catalogue_declares(pg_database: str) -> None:
    """Every index on `assets` is one a measurement justified (benchmarks/README.md): the
    primary key, tag and serial unique among active assets, the deleted rows, the trigram
    search index and a (key, id) index per other sort key, only over the key's values when
    it is nullable. A stray index slows every import; a missing one a listing."""
    from assetctl.core.assets.schema import FIELDS, Kind, column
    from assetctl.db.tables import UNIQUE_WHEN_ACTIVE

    expected = {
        "pk_assets": "(id)",
        "uq_assets_tag_active": "(tag) WHERE (deleted_at IS NULL)",
        "uq_assets_serial_active": "(serial) WHERE ((serial IS NOT NULL) AND (deleted_at IS NULL))",
        "ix_assets_deleted_at": "(deleted_at) WHERE (deleted_at IS NOT NULL)",
        search_index.INDEX_NAME: None,
    }
    for field in FIELDS:
        if field.sortable and field.kind is not Kind.ID and field.name not in UNIQUE_WHEN_ACTIVE:
            key = column(field.name)
            partial = f" WHERE ({key} IS NOT NULL)" if field.nullable else ""
            expected[f"ix_assets_{field.name}_id"] = f"({key}, id){partial}"
    with connect(pg_database) as conn:
        found: dict[str, str] = dict(
            conn.execute(
                text(
                    "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i JOIN pg_class c "
                    "ON c.oid = i.indexrelid WHERE i.indrelid = 'assets'::regclass"
                )
            ).all()
        )
    assert set(found) == set(expected)
    for name, tail in expected.items():
        if tail is not None:
            assert found[name].endswith(f"USING btree {tail}"), found[name]


def _truncate_assets(url: str) -> None:
    with connect(url) as conn:
        conn.execute(text("TRUNCATE assets, asset_events RESTART IDENTITY CASCADE"))
