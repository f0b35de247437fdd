"""The import half of `scale_bench.py`: `asset import` against `psql \\copy` into the same
table and into one with only the unique indexes, and what each index of `assets` costs a
`COPY` (see scale_bench.py's docstring and benchmarks/README.md)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ASSETCTL = Path(sys.executable).parent / "assetctl"
PSQL = shutil.which("psql") or "/usr/bin/psql"


def plain_driver() -> None:
    """assetctl's engine installs a psycopg2 wait callback (its reply timeout, 35 s) for the
    whole process; building a million rows or a COPY needs none."""
    import psycopg2.extensions

    psycopg2.extensions.set_wait_callback(None)


def query(dsn: str, sql: str, *, replica: bool = False) -> list[Any]:
    import psycopg2

    plain_driver()

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            if replica:
                cur.execute("SET session_replication_role = replica")
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def timed(args: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [str(ASSETCTL), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): assetctl {' '.join(args)}\n{proc.stderr}")
    return elapsed


# --- import -----------------------------------------------------------------------------------

IMPORT_COLUMNS = (
    "tag,name,category,status,serial,manufacturer,model,location,assignee,"
    "purchase_date,purchase_cost,warranty_until,notes"
)
TABLE_COLUMNS = (
    "tag,name,category,status,serial,manufacturer,model,location,assignee,purchase_date,"
    "purchase_cost_cents,warranty_until,notes,version,created_at,updated_at,created_by,updated_by"
)


def import_files(rows: int, directory: Path) -> tuple[Path, Path]:
    """The same assets as an import file and in the table's own columns for psql."""
    import_file, table_file = directory / "assets.csv", directory / "assets-table.csv"
    now = "2026-01-01T00:00:00+00:00"
    statuses = ("in_stock", "in_repair", "retired", "assigned")
    with import_file.open("w") as imp, table_file.open("w") as tab:
        imp.write(IMPORT_COLUMNS + "\n")
        tab.write(TABLE_COLUMNS + "\n")
        for i in range(rows):
            status = statuses[i % 4]
            assignee = f"user{i % 997}@example.com" if status == "assigned" else ""
            cents = 50_000 + i % 250_000
            common = (
                f"IMP-{i:08d},Laptop {i},laptop,{status},SN{i:010d},Lenovo,ThinkPad T14,"
                f"Site {i % 50},{assignee},2024-0{1 + i % 9}-1{i % 10}"
            )
            imp.write(f"{common},{cents // 100}.{cents % 100:02d},2027-01-01,note {i}\n")
            tab.write(f"{common},{cents},2027-01-01,note {i},1,{now},{now},bench,bench\n")
    return import_file, table_file


def _psql_copy(dsn: str, table: str, table_file: Path) -> float:
    copy = f"\\copy {table} ({TABLE_COLUMNS}) FROM '{table_file}' WITH (FORMAT csv, HEADER)"
    start = time.perf_counter()
    subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", copy], check=True)
    return time.perf_counter() - start


def _empty(dsn: str, *tables: str) -> None:
    query(dsn, f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    query(dsn, f"VACUUM ANALYZE {', '.join(tables)}")


def make_bare_tables(dsn: str) -> None:
    """`assets_bare`: the columns, checks and triggers of `assets` (so the history trigger
    writes its events, as for every writer since issue 13), its primary key and its two
    unique indexes, nothing else: what the indexes cost, as the issue compares. And
    `assets_bare_no_history`: the same without the triggers, reported so the history's own
    price is visible too."""
    for table in ("assets_bare", "assets_bare_no_history"):
        query(dsn, f"CREATE TABLE {table} (LIKE assets INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        query(dsn, f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
        for (definition,) in query(
            dsn,
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c "
            "ON c.oid = i.indexrelid WHERE indrelid = 'assets'::regclass AND indisunique "
            "AND NOT indisprimary",
        ):
            name = definition.split(" INDEX ", 1)[1].split(" ", 1)[0]
            query(dsn, definition.replace(" ON public.assets ", f" ON public.{table} ").replace(
                f" {name} ", f" {name}_{table} ", 1))  # fmt: skip
    for (definition,) in query(
        dsn, "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'assets'::regclass "
        "AND NOT tgisinternal",
    ):  # fmt: skip
        name = definition.split(" TRIGGER ", 1)[1].split(" ", 1)[0]
        query(dsn, definition.replace(" ON public.assets ", " ON public.assets_bare ").replace(
            f" {name} ", f" {name}_bare ", 1))  # fmt: skip


def bench_import(
    dsn: str, env: dict[str, str], rows: int, runs: int, tmp: Path
) -> dict[str, float]:
    import_file, table_file = import_files(rows, tmp)
    make_bare_tables(dsn)
    results: dict[str, list[float]] = {"assetctl": [], "psql": [], "bare": [], "no_history": []}
    for _ in range(runs):
        _empty(dsn, "assets", "asset_events")
        results["psql"].append(_psql_copy(dsn, "assets", table_file))
        _empty(dsn, "assets_bare", "asset_events")
        results["bare"].append(_psql_copy(dsn, "assets_bare", table_file))
        _empty(dsn, "assets_bare_no_history")
        results["no_history"].append(_psql_copy(dsn, "assets_bare_no_history", table_file))
        _empty(dsn, "assets", "asset_events")
        results["assetctl"].append(timed(["-q", "asset", "import", str(import_file)], env))
    return {key: statistics.median(values) for key, values in results.items()}


def index_costs(dsn: str, rows: int, runs: int, tmp: Path) -> list[tuple[str, float]]:
    """(index, seconds it adds to a `COPY` of `rows` rows into the empty table): each index
    dropped in turn inside a transaction that is rolled back."""
    import psycopg2

    plain_driver()
    _, table_file = import_files(rows, tmp)
    copy = f"COPY assets ({TABLE_COLUMNS}) FROM STDIN WITH (FORMAT csv, HEADER)"

    def copy_without(index: str | None) -> float:
        conn = psycopg2.connect(dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = replica")  # no history trigger
                cur.execute("TRUNCATE assets, asset_events RESTART IDENTITY CASCADE")
                if index:
                    cur.execute(f'DROP INDEX "{index}"')
                with table_file.open() as data:
                    start = time.perf_counter()
                    cur.copy_expert(copy, data)
                    elapsed = time.perf_counter() - start
            conn.rollback()
        finally:
            conn.close()
        return elapsed

    base = statistics.median(copy_without(None) for _ in range(runs))
    costs = [("COPY with every index", base)]
    for index, _ in index_sizes(dsn):
        without = statistics.median(copy_without(index) for _ in range(runs))
        costs.append((index, base - without))
    return costs


def index_sizes(dsn: str) -> list[tuple[str, float]]:
    """Every index of `assets` but the primary key, with its size in MB."""
    return [
        (str(name), float(size)) for name, size in query(
            dsn, "SELECT c.relname, pg_relation_size(c.oid) / 1048576.0 FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE indrelid = 'assets'::regclass "
            "AND NOT indisprimary ORDER BY 1")
    ]  # fmt: skip
