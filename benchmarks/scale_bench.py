"""A million assets answer as fast as a thousand (issue 19): listings, search, paging, show,
and what the indexes cost an import.

    .venv/bin/python benchmarks/scale_bench.py              (1,000 and 1,000,000 assets)
    .venv/bin/python benchmarks/scale_bench.py --quick      (1,000 and 100,000; about a minute)

One throwaway database (`assetctl_scale_<hex>`, roles `bench_<hex>_*`, both dropped at the
end). For each size the rows are built by the server (`INSERT ... SELECT ... FROM
generate_series`), then every case runs as a fresh `assetctl ... --no-cache` process, round
robin, `--runs` times; the table shows medians and the ratio of the big size to the small
one. Cases: the default listing, every filter alone, every sort key both ways, filters with
a sort on another column, a common and a rare search term, the last page reached by cursor,
and `asset show`. Target: every ratio <= 1.5x.

Import: `assetctl asset import` of `--import-rows` rows into the emptied table against
`psql \\copy` of the same rows into the same table (target <= 2x), and into a table with only
the primary key and the two unique indexes and the same triggers (target <= 4x: what the
indexes cost), and that table without the history trigger (reported). With `--index-costs`,
the same `\\copy` again once without each index of `assets` in turn (inside a transaction
that is rolled back): what each index costs an import.

The machine may be shared: compare ratios within one run, and repeat runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from import_export_bench import compile_bytecode, throwaway_database  # noqa: E402
from scale_import import (  # noqa: E402
    bench_import,
    index_costs,
    index_sizes,
    plain_driver,
    query,
    timed,
)

ADMIN_URL = os.environ.get(
    "ASSETCTL_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
LIST_TARGET = 1.5
IMPORT_TARGET = 2.0
BARE_TARGET = 4.0

# The server builds the rows: realistic spreads (8 categories, 5 statuses, 200 sites, 50,000
# people, half the machines with host facts, 10% without serial, 1% deleted).
SEED_SQL = """
INSERT INTO assets (tag, name, category, status, serial, manufacturer, model, location,
  assignee, purchase_date, purchase_cost_cents, warranty_until, notes, version, created_at,
  updated_at, created_by, updated_by, deleted_at, hostname, hardware_uuid, os, mac_addresses,
  last_audited_at, audited_by)
SELECT 'AST-' || lpad(i::text, 7, '0'),
  (ARRAY['Laptop','Monitor','Phone','Desk dock','Tablet','Headset','Printer','Desktop'])
    [1 + i % 8] || ' ' || i,
  (ARRAY['laptop','monitor','phone','dock','tablet','headset','printer','desktop'])[1 + i % 8],
  s.status,
  CASE WHEN i % 10 <> 0 THEN 'SN' || upper(substr(md5(i::text), 1, 5)) || lpad(i::text, 7, '0')
  END,
  (ARRAY['Lenovo','Dell','Apple','HP','Samsung','Logitech','Jabra','Brother','Asus','Acer'])
    [1 + (i / 8) % 10],
  (ARRAY['ThinkPad T14','Latitude 7440','MacBook Pro 14','EliteBook 840','Galaxy S24',
    'U2723QE','Evolve2 65','HL-L2350'])[1 + (i * 7) % 8],
  'Site ' || ((i * 37) % 200),
  CASE WHEN s.status = 'assigned' THEN 'user' || ((i * 13) % 50000) || '@example.com' END,
  DATE '2020-01-01' + ((i * 17) % 2000)::int,
  10000 + (i * 7919) % 300000,
  DATE '2024-01-01' + ((i * 29) % 1800)::int,
  CASE WHEN i % 5 = 0 THEN 'note ' || i END,
  1,
  TIMESTAMPTZ '2024-01-01 00:00:00+00' + make_interval(secs => i * 30),
  TIMESTAMPTZ '2024-01-01 00:00:00+00' + make_interval(secs => ((i * 7919) % 1000003) * 30),
  'bench', 'bench',
  CASE WHEN i % 100 = 0 THEN TIMESTAMPTZ '2026-06-01 00:00:00+00' + make_interval(secs => i)
  END,
  CASE WHEN i % 2 = 0 THEN 'host-' || i || '.corp.example' END,
  CASE WHEN i % 2 = 0 THEN md5('uuid' || i)::uuid::text END,
  CASE WHEN i % 2 = 0 THEN (ARRAY['Ubuntu 24.04.1 LTS','Windows 11 Pro 23H2','macOS 14.6',
    'Debian 12','Fedora 40'])[1 + i % 5] END,
  CASE WHEN i % 2 = 0 THEN substr(md5('mac' || i), 1, 2) || ':' || substr(md5('mac' || i), 3, 2)
    || ':00:00:00:01' END,
  CASE WHEN i % 3 = 0 THEN TIMESTAMPTZ '2025-01-01 00:00:00+00' + make_interval(secs => i * 7)
  END,
  CASE WHEN i % 3 = 0 THEN 'auditor' || (i % 20) || '@example.com' END
FROM generate_series(1::bigint, %(n)s) AS i
CROSS JOIN LATERAL (SELECT (ARRAY['in_stock','assigned','assigned','assigned','in_repair',
  'retired','lost','in_stock','assigned','retired'])[1 + (i * 31) % 10] AS status) AS s
"""

# A value for every filterable field that matches rows at both sizes; a new filterable
# field must be added here (checked at start).
FILTER_VALUES = {
    "category": "monitor",
    "status": "lost",
    "location": "Site 17",
    "assignee": "user1313@example.com",  # asset 101 (and every 50,000th after it)
    "hostname": "host-500.corp.example",
    "hardware_uuid": str(uuid.UUID(hashlib.md5(b"uuid500").hexdigest())),  # asset 500
    "os": "Debian 12",
    "audited_by": "auditor3@example.com",  # one audited asset in sixty
}
# Filters with a sort on another column: the listing has no index for the pair.
FILTER_SORTS = [
    ("--status", "lost", "name"),
    ("--category", "phone", "purchase_date:desc"),
    ("--location", "Site 17", "updated_at:desc"),
    ("--os", "Debian 12", "hostname:desc"),
    ("--status", "in_repair", "serial:desc"),
]
COMMON_TERM = "thinkpad"  # the model of one asset in eight
RARE_TERM = "0000777"  # the tag (and serial) of one asset
SHOW_TAG = "AST-0000777"


def _cases() -> list[tuple[str, list[str]]]:
    from assetctl.core.assets.schema import FILTERABLE, SORTABLE

    missing = set(FILTERABLE) - set(FILTER_VALUES)
    if missing:
        raise SystemExit(f"scale_bench: no FILTER_VALUES entry for {sorted(missing)}")
    cases: list[tuple[str, list[str]]] = [("list (default sort)", [])]
    for name in FILTERABLE:
        option = "--" + name.replace("_", "-")
        cases.append((f"filter {name}", [option, FILTER_VALUES[name]]))
    cases.append(("filter --deleted", ["--deleted"]))
    for key in SORTABLE:
        cases.append((f"sort {key}", ["--sort", key]))
        cases.append((f"sort {key}:desc", ["--sort", f"{key}:desc"]))
    for option, value, sort in FILTER_SORTS:
        cases.append((f"{option} {value} --sort {sort}", [option, value, "--sort", sort]))
    cases.append((f"search common ({COMMON_TERM!r})", ["--search", COMMON_TERM]))
    cases.append((f"search rare ({RARE_TERM!r})", ["--search", RARE_TERM]))
    return [(label, ["asset", "list", *args]) for label, args in cases]


def _last_page_cases(dsn: str) -> list[tuple[str, list[str]]]:
    """The cursor that `asset list` prints on the page before the last one, for a
    non-nullable and a nullable sort key: reached by keyset, it costs what page 1 costs."""
    from assetctl.core.assets.listing import Sort, encode_cursor, make_filters

    cases = []
    for sort_text, column, order in (
        ("tag", "tag", "tag DESC, id DESC"),
        ("serial:desc", "serial", "serial ASC NULLS FIRST, id ASC"),
    ):
        # The 51st row from the end in the listing's order is the last row of the page
        # before the last page of 50.
        sql = (
            f"SELECT {column}, id FROM assets WHERE deleted_at IS NULL ORDER BY {order} "
            "OFFSET 50 LIMIT 1"
        )
        value, row_id = query(dsn, sql)[0]
        sort = Sort.parse(sort_text)
        filters = make_filters({}, search=None, deleted=False)
        cursor = encode_cursor(filters, sort, value, row_id)
        cases.append(
            (f"last page by cursor (--sort {sort_text})",
             ["asset", "list", "--sort", sort_text, "--cursor", cursor])
        )  # fmt: skip
    cases.append(("asset show", ["asset", "show", SHOW_TAG]))
    return cases


def seed(dsn: str, rows: int) -> float:
    """Empty the table and let the server build `rows` assets. The history trigger is off
    for the load (session_replication_role, a superuser's setting): these are fixtures."""
    import psycopg2

    plain_driver()
    start = time.perf_counter()
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cur.execute("TRUNCATE assets, asset_events RESTART IDENTITY CASCADE")
            cur.execute(SEED_SQL.replace("%(n)s", str(int(rows))))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE assets")
    finally:
        conn.close()
    return time.perf_counter() - start


def measure(cases: list[tuple[str, list[str]]], env: dict[str, str], runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {label: [] for label, _ in cases}
    for _label, args in cases:  # warm the server's cache once
        timed([*args, "--no-cache", "-o", "json"], env)
    for _ in range(runs):
        for label, args in cases:
            times[label].append(timed([*args, "--no-cache", "-o", "json"], env))
    return {label: statistics.median(values) for label, values in times.items()}


# --- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 vs 100,000; fewer runs")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--runs", type=int, default=None, help="default 5 (--quick: 3)")
    parser.add_argument("--import-rows", type=int, default=None, help="default 100,000")
    parser.add_argument("--index-costs", action="store_true", help="what each index costs")
    parser.add_argument("--no-import", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database (prints it)")
    args = parser.parse_args(argv)
    args.large = args.large or (100_000 if args.quick else 1_000_000)
    args.runs = args.runs or (3 if args.quick else 5)
    args.import_rows = args.import_rows or (20_000 if args.quick else 100_000)
    compile_bytecode()
    run = _run(args)

    ok = _report(run.listings, args.small, args.large, args.runs)
    if run.imports is not None:
        ok = _report_import(run.imports, args.import_rows, args.runs) and ok
    print(f"\n| index | MB at {args.large:,} | adds to a COPY of {args.import_rows:,} rows |")
    print("|---|---|---|")
    cost_of = dict(run.costs)
    for index, megabytes in run.sizes:
        cost = f"{cost_of[index]:.2f} s" if index in cost_of else "(--index-costs)"
        print(f"| {index} | {megabytes:.0f} | {cost} |")
    if run.costs:
        print(f"| (COPY with every index) | | {run.costs[0][1]:.2f} s |")
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


@dataclass
class Results:
    listings: dict[int, dict[str, float]] = field(default_factory=dict)
    sizes: list[tuple[str, float]] = field(default_factory=list)
    imports: dict[str, float] | None = None
    costs: list[tuple[str, float]] = field(default_factory=list)


def _run(args: argparse.Namespace) -> Results:
    """Everything, in one throwaway database that is dropped at the end (unless --keep)."""
    results = Results()
    with throwaway_database(keep=args.keep) as db:
        env = {**db.env, "ASSETCTL_PUBLIC_IP_URLS": "off"}
        for size in (args.small, args.large):
            took = seed(db.dsn, size)
            print(f"seeded {size:,} assets in {took:.1f} s", flush=True)
            cases = _cases() + _last_page_cases(db.dsn)
            results.listings[size] = measure(cases, env, args.runs)
        results.sizes = index_sizes(db.dsn)
        if not args.no_import:
            results.imports = bench_import(db.dsn, env, args.import_rows, args.runs, db.tmp)
        if args.index_costs:
            results.costs = index_costs(db.dsn, args.import_rows, args.runs, db.tmp)
    return results


def _report(results: dict[int, dict[str, float]], small: int, large: int, runs: int) -> bool:
    print(f"\nmedian of {runs} fresh processes, --no-cache -o json")
    print(f"| case | {small:,} s | {large:,} s | ratio | target |")
    print("|---|---|---|---|---|")
    ok = True
    for label, base in results[small].items():
        big = results[large][label]
        ratio = big / base
        ok = ok and ratio <= LIST_TARGET
        verdict = "ok" if ratio <= LIST_TARGET else "**MISSED**"
        print(f"| {label} | {base:.3f} | {big:.3f} | {ratio:.2f}x | {verdict} |")
    return ok


def _report_import(imp: dict[str, float], rows: int, runs: int) -> bool:
    same, bare = imp["assetctl"] / imp["psql"], imp["assetctl"] / imp["bare"]
    print(f"\nimport of {rows:,} rows, median of {runs}")
    print("| case | s | assetctl / this |")
    print("|---|---|---|")
    print(f"| assetctl asset import | {imp['assetctl']:.2f} | |")
    print(
        f"| psql \\copy into assets (same indexes) | {imp['psql']:.2f} | {same:.2f}x "
        f"(target <= {IMPORT_TARGET}x) |"
    )
    print(f"| psql \\copy into a table with pk + 2 unique indexes (and the history trigger) | "
          f"{imp['bare']:.2f} | {bare:.2f}x (target <= {BARE_TARGET}x) |")  # fmt: skip
    print(f"| the same without the history trigger (reported) | {imp['no_history']:.2f} | "
          f"{imp['assetctl'] / imp['no_history']:.2f}x |")  # fmt: skip
    return same <= IMPORT_TARGET and bare <= BARE_TARGET


if __name__ == "__main__":
    sys.exit(main())
