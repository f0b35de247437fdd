"""Import/export benchmark against `psql \\copy` on a throwaway PostgreSQL database.

Run from the repository root with the project's interpreter (PostgreSQL reachable, `psql` on
PATH or at /usr/bin/psql):

    .venv/bin/python benchmarks/import_export_bench.py [--import-rows 100000]
        [--export-rows 1000000] [--repeat 3]

Import: the same generated rows are loaded (a) by `psql \\copy` straight into `assets` and
(b) by `assetctl asset import FILE` (validation, COPY straight into `assets`, one history
event per asset), each into the emptied table; medians are compared. (c) The same rows with
`--update`, which takes the staging table and its set-based checks, is timed for information.
Export: `assetctl asset export` (CSV) of N rows against `psql -c "\\copy (SELECT ... ORDER BY
tag, id) TO STDOUT CSV HEADER"`, both to /dev/null; the peak RSS of the assetctl process is
read with GNU time (/usr/bin/time -f %M). JSON Lines export is timed too (informational: no target).
Bytecode is compiled first (skip with --no-compile), as benchmarks/README.md asks.

(d) The same rows as a Snipe-IT importer file (labels, checkouts, US dates) are imported and
compared with (b), our own CSV.

Targets (issue 7): import <= 2x psql, export <= 2x psql, export peak RSS <= 200 MB; (issue
15) the Snipe-IT file <= 1.3x our CSV (its "psql s" column shows our CSV's time). The
script exits 1 when a target is missed. The database `assetctl_bench_<random>` is created
and dropped by the script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ADMIN_URL = os.environ.get(
    "ASSETCTL_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ASSETCTL = Path(sys.executable).parent / "assetctl"
PSQL = shutil.which("psql") or "/usr/bin/psql"
TIME = "/usr/bin/time"  # GNU time, for the peak RSS of one process
IMPORT_COLUMNS = (
    "tag,name,category,status,serial,manufacturer,model,location,assignee,"
    "purchase_date,purchase_cost,warranty_until,notes"
)
# The same assets as Snipe-IT's importer names them, with its spellings: status labels, a
# checkout column for the assignee, US dates and costs with a thousands separator.
SNIPEIT_COLUMNS = (
    "Asset Tag,Asset Name,Category,Status,Serial Number,Manufacturer,Model Name,Location,"
    "Checked Out to: Email,Purchase Date,Purchase Cost,Warranty Expires,Asset Notes"
)
SNIPEIT_LABELS = {
    "in_stock": "Ready to Deploy",
    "in_repair": "Out for Repair",
    "retired": "Archived",
    "assigned": "Ready to Deploy",
}
TABLE_COLUMNS = (
    "tag,name,category,status,serial,manufacturer,model,location,assignee,purchase_date,"
    "purchase_cost_cents,warranty_until,notes,version,created_at,updated_at,created_by,updated_by"
)


@dataclass
class Run:
    seconds: float
    max_rss_mb: float


def run(cmd: Sequence[str], env: dict[str, str], *, stdout: int | None = None) -> Run:
    """Run a command, returning wall time and the peak RSS of that process.

    The RSS comes from GNU time (`%M`), not from our own wait4(): Linux carries a parent's
    RSS high-water mark into a forked child, so this (large) Python process would set the
    floor of every measurement."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [TIME, "-f", "%M", "-o", rss.name, *cmd]
        start = time.perf_counter()
        proc = subprocess.run(
            wrapped,
            env=env,
            stdout=stdout or subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(
                f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()}"
            )
        max_rss_kb = int(rss.read().strip().splitlines()[-1])
    return Run(elapsed, max_rss_kb / 1024)


def generate(rows: int, directory: Path) -> tuple[Path, Path, Path]:
    """The same assets three times: as an import file, in the table's own columns for psql,
    and as a Snipe-IT importer file."""
    import_file = directory / "assets.csv"
    table_file = directory / "assets-table.csv"
    snipeit_file = directory / "snipeit.csv"
    now = "2026-01-01T00:00:00+00:00"
    statuses = ("in_stock", "in_repair", "retired", "assigned")
    with import_file.open("w") as imp, table_file.open("w") as tab, snipeit_file.open("w") as snp:
        imp.write(IMPORT_COLUMNS + "\n")
        tab.write(TABLE_COLUMNS + "\n")
        snp.write(SNIPEIT_COLUMNS + "\n")
        for i in range(rows):
            status = statuses[i % 4]
            assignee = f"user{i % 997}@example.com" if status == "assigned" else ""
            cents = 50_000 + i % 250_000
            cost = f"{cents // 100}.{cents % 100:02d}"
            common = (
                f"BENCH-{i:08d},Laptop {i},laptop,{status},SN{i:010d},Lenovo,ThinkPad T14,"
                f"Site {i % 50},{assignee},2024-0{1 + i % 9}-1{i % 10}"
            )
            notes = f"imported asset {i}"
            imp.write(f"{common},{cost},2027-01-01,{notes}\n")
            tab.write(f"{common},{cents},2027-01-01,{notes},1,{now},{now},bench,bench\n")
            snp.write(
                f"BENCH-{i:08d},Laptop {i},laptop,{SNIPEIT_LABELS[status]},SN{i:010d},Lenovo,"
                f"ThinkPad T14,Site {i % 50},{assignee},{1 + i % 9}/1{i % 10}/2024,"
                f'"{cents // 100:,}.{cents % 100:02d}",2027-01-01,{notes}\n'
            )
    return import_file, table_file, snipeit_file


def admin_sql(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def bootstrap(url: str, role_prefix: str) -> str:
    """Migrate the database and return a token for its first (admin) user."""
    from assetctl.config import load_settings
    from assetctl.core.auth.accounts import login, register
    from assetctl.db.engine import unit_of_work
    from assetctl.db.migrate import upgrade

    upgrade(url, role_prefix)
    email, password = "bench@example.com", "benchmark password 123"
    settings = load_settings({"ASSETCTL_DATABASE_URL": url, "XDG_CONFIG_HOME": "/nonexistent"})
    with unit_of_work(url, write=True) as session:
        register(session, None, email=email, name="Bench", role=None, password=password)
    with unit_of_work(url, write=True) as session:
        return login(session, settings, email=email, password=password, host="bench").token


@dataclass(frozen=True)
class Throwaway:
    """A benchmark's own database: its psql DSN, the environment of an `assetctl` process
    logged in as its first admin (token, no config file), and a temporary directory."""

    dsn: str
    env: dict[str, str]
    tmp: Path


@contextmanager
def throwaway_database(*, keep: bool = False) -> Iterator[Throwaway]:
    """A new, migrated database with a first admin and its own `bench_<hex>` roles (role
    names are cluster-wide), dropped with those roles afterwards unless `keep`."""
    name = f"assetctl_bench_{uuid.uuid4().hex[:10]}"
    dsn = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    url = dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
    role_prefix = f"bench_{uuid.uuid4().hex[:8]}"
    admin_sql(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETCTL_")}
            env.update(ASSETCTL_DATABASE_URL=url, ASSETCTL_TOKEN=bootstrap(url, role_prefix),
                       XDG_CONFIG_HOME=str(Path(tmp) / "config"))  # fmt: skip
            yield Throwaway(dsn, env, Path(tmp))
    finally:
        if keep:
            print(f"kept database {dsn} (roles {role_prefix}_*)")
        else:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            drop_roles(role_prefix)


def psql(dsn: str, *commands: str) -> list[str]:
    """One psql process running each command separately (so VACUUM is not in a block)."""
    args = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn]
    for command in commands:
        args += ["-c", command]
    return args


def empty(dsn: str, env: dict[str, str]) -> None:
    run(
        psql(
            dsn, "TRUNCATE assets, asset_events RESTART IDENTITY CASCADE", "VACUUM ANALYZE assets"
        ),
        env,
    )


def drop_roles(role_prefix: str) -> None:
    """Role names are cluster-wide: drop this run's own (after its database is gone)."""
    from assetctl.db.roles import SUFFIXES

    for suffix in SUFFIXES:
        admin_sql(f'DROP ROLE IF EXISTS "{role_prefix}_{suffix}"')


def bench_import(
    dsn: str, env: dict[str, str], rows: int, repeat: int, tmp: Path
) -> dict[str, float]:
    import_file, table_file, snipeit_file = generate(rows, tmp)
    copy = f"\\copy assets ({TABLE_COLUMNS}) FROM '{table_file}' WITH (FORMAT csv, HEADER)"
    psql_times, ours, rss, checked, snipeit = [], [], [], [], []
    for _ in range(repeat):
        empty(dsn, env)
        psql_times.append(run(psql(dsn, copy), env).seconds)
        empty(dsn, env)
        result = run([str(ASSETCTL), "-q", "asset", "import", str(import_file)], env)
        ours.append(result.seconds)
        rss.append(result.max_rss_mb)
        # The same rows through the staging table and its checks (--update with no existing
        # tag creates them all): what a file with problems, or an update, costs.
        empty(dsn, env)
        update = [str(ASSETCTL), "-q", "asset", "import", "--update", str(import_file)]
        checked.append(run(update, env).seconds)
        # The same rows as a Snipe-IT file: header mapping, labels, checkouts, US dates
        # (which take a pass of their own to settle the date form) and costs.
        empty(dsn, env)
        result = run([str(ASSETCTL), "-q", "asset", "import", str(snipeit_file)], env)
        snipeit.append(result.seconds)
        rss.append(result.max_rss_mb)
    return {
        "psql": statistics.median(psql_times),
        "assetctl": statistics.median(ours),
        "rss": max(rss),
        "checked": statistics.median(checked),
        "snipeit": statistics.median(snipeit),
    }


def seed_export(dsn: str, env: dict[str, str], rows: int) -> None:
    empty(dsn, env)
    run(
        psql(
            dsn,
            f"INSERT INTO assets ({TABLE_COLUMNS}) SELECT 'EXP-' || lpad(i::text, 8, '0'), "
            "'Laptop ' || i, 'laptop', 'in_stock', 'SN' || i, 'Lenovo', 'ThinkPad T14', "
            "'Site ' || (i % 50), NULL, DATE '2024-01-01' + (i % 300), 50000 + i % 250000, "
            "DATE '2027-01-01', 'note, with \"quotes\" ' || i, 1, now(), now(), 'bench', "
            f"'bench' FROM generate_series(1, {rows}) AS i",
            "VACUUM ANALYZE assets",
        ),
        env,
    )


def bench_export(dsn: str, env: dict[str, str], repeat: int) -> dict[str, float]:
    copy = (
        "\\copy (SELECT * FROM assets WHERE deleted_at IS NULL ORDER BY tag, id) "
        "TO STDOUT WITH (FORMAT csv, HEADER)"
    )
    results: dict[str, list[Run]] = {"psql": [], "csv": [], "jsonl": []}
    for _ in range(repeat):
        results["psql"].append(run(psql(dsn, copy), env))
        results["csv"].append(run([str(ASSETCTL), "-q", "asset", "export"], env))
        results["jsonl"].append(run([str(ASSETCTL), "-q", "asset", "export", "-o", "jsonl"], env))
    return {
        "psql": statistics.median(r.seconds for r in results["psql"]),
        "csv": statistics.median(r.seconds for r in results["csv"]),
        "csv_rss": max(r.max_rss_mb for r in results["csv"]),
        "jsonl": statistics.median(r.seconds for r in results["jsonl"]),
        "jsonl_rss": max(r.max_rss_mb for r in results["jsonl"]),
    }


def compile_bytecode() -> None:
    """PYTHONDONTWRITEBYTECODE may be set: without .pyc files every assetctl process would
    recompile what it imports and the timings would measure the compiler (benchmarks/README)."""
    import sysconfig

    targets = [sysconfig.get_paths()["purelib"], str(REPO / "assetctl")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *targets], check=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="skip the compileall step")
    args = parser.parse_args(argv)
    if not args.no_compile:
        compile_bytecode()

    with throwaway_database() as db:
        imp = bench_import(db.dsn, db.env, args.import_rows, args.repeat, db.tmp)
        seed_export(db.dsn, db.env, args.export_rows)
        exp = bench_export(db.dsn, db.env, args.repeat)

    import_ratio = imp["assetctl"] / imp["psql"]
    export_ratio = exp["csv"] / exp["psql"]
    snipeit_ratio = imp["snipeit"] / imp["assetctl"]
    rows = [
        (f"import {args.import_rows:,} rows (CSV)", imp["psql"], imp["assetctl"], import_ratio,
         imp["rss"], "<= 2.0x"),
        (f"import {args.import_rows:,} rows --update", imp["psql"], imp["checked"],
         imp["checked"] / imp["psql"], imp["rss"], "(informational)"),
        (f"import {args.import_rows:,} rows Snipe-IT", imp["assetctl"], imp["snipeit"],
         snipeit_ratio, imp["rss"], "<= 1.3x our CSV"),
        (f"export {args.export_rows:,} rows (CSV)", exp["psql"], exp["csv"], export_ratio,
         exp["csv_rss"], "<= 2.0x, <= 200 MB"),
        (f"export {args.export_rows:,} rows (JSONL)", exp["psql"], exp["jsonl"],
         exp["jsonl"] / exp["psql"], exp["jsonl_rss"], "(informational)"),
    ]  # fmt: skip
    print(f"median of {args.repeat} runs; PostgreSQL {db.dsn.rsplit('@', 1)[-1]}")
    print(f"{'case':<34} {'psql s':>8} {'assetctl s':>11} {'ratio':>6} {'peak RSS':>9}  target")
    for case, base_s, ours_s, ratio, rss, target in rows:
        print(f"{case:<34} {base_s:>8.2f} {ours_s:>11.2f} {ratio:>5.2f}x {rss:>6.0f} MB  {target}")
    ok = (
        import_ratio <= 2.0 and export_ratio <= 2.0 and exp["csv_rss"] <= 200
        and snipeit_ratio <= 1.3
    )  # fmt: skip
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
