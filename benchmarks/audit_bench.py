"""Physical audits at warehouse scale (issue 17): scanning, status and closing an audit of
thousands of assets.

Run from the repository root with the project's interpreter (PostgreSQL reachable, `psql` on
PATH or at /usr/bin/psql):

    .venv/bin/python benchmarks/audit_bench.py [--items 5000] [--repeat 3]

N assets at one location. Floor: (a) `psql -c` running one UPDATE that sets
`last_audited_at`, `audited_by` and the version of all N (the history trigger writes their N
events), plus (b) the command's own start-up, measured as `assetctl audit list`. Then, per
repeat, a fresh audit (`audit start`), every tag scanned from a file (`audit scan ID <
FILE`), `audit status ID -o json`, and (c) `audit close ID`. Target: (c) <= 2 x ((a) + (b)).
Scan and status times are shown beside it (informational). Medians of --repeat runs. The
database `assetctl_bench_<random>` and the `bench_<hex>` roles are created and dropped here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from import_export_bench import (
    ASSETCTL,
    compile_bytecode,
    psql,
    run,
    throwaway_database,
)


def seed(dsn: str, env: dict[str, str], items: int) -> None:
    run(
        psql(
            dsn,
            "INSERT INTO assets (tag, name, category, status, location, version, created_at, "
            "updated_at, created_by, updated_by) SELECT 'H-' || lpad(i::text, 6, '0'), "
            "'Laptop ' || i, 'laptop', 'in_stock', 'Hall', 1, now(), now(), 'bench', 'bench' "
            f"FROM generate_series(1, {items}) AS i",
            "VACUUM ANALYZE assets",
        ),
        env,
    )


def one_round(env: dict[str, str], codes: Path) -> dict[str, float]:
    """A new audit of the hall: start, scan every tag from `codes`, status, close."""
    import subprocess

    started = subprocess.run([str(ASSETCTL), "audit", "start", "--location", "Hall"], env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
    audit = started.stdout.strip()
    with codes.open("rb") as stdin:
        scan = run_with_stdin([str(ASSETCTL), "audit", "scan", audit, "-q"], env, stdin)
    status = run([str(ASSETCTL), "audit", "status", audit, "-o", "json"], env).seconds
    close = run([str(ASSETCTL), "audit", "close", audit, "-q"], env).seconds
    return {"scan": scan, "status": status, "close": close}


def run_with_stdin(cmd: Sequence[str], env: dict[str, str], stdin: IO[bytes]) -> float:
    import subprocess
    import time

    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdin=stdin, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="skip the compileall step")
    args = parser.parse_args(argv)
    if not args.no_compile:
        compile_bytecode()
    with throwaway_database() as db:
        seed(db.dsn, db.env, args.items)
        codes = db.tmp / "codes.txt"
        codes.write_text("".join(f"H-{i:06}\n" for i in range(1, args.items + 1)))
        sql = ("UPDATE assets SET last_audited_at = now(), audited_by = 'psql', "
               "version = version + 1 WHERE location = 'Hall'")  # fmt: skip
        floor = [run(psql(db.dsn, sql), db.env).seconds for _ in range(args.repeat)]
        startup = [run([str(ASSETCTL), "audit", "list"], db.env).seconds
                   for _ in range(args.repeat)]  # fmt: skip
        rounds = [one_round(db.env, codes) for _ in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in rounds) for k in ("scan", "status", "close")}
    base = statistics.median(floor) + statistics.median(startup)
    ratio = med["close"] / base
    print(f"median of {args.repeat} runs; PostgreSQL {db.dsn.rsplit('@', 1)[-1]}")
    rows = [
        (f"psql: one UPDATE of {args.items:,} (+ trigger history)", statistics.median(floor), ""),
        ("assetctl start-up (audit list)", statistics.median(startup), ""),
        (f"audit close ({args.items:,} found)", med["close"],
         f"{ratio:.2f}x of psql+start-up (target <= 2.0x)"),
        (f"audit scan < file ({args.items:,} codes)", med["scan"], "informational"),
        (f"audit status -o json ({args.items:,} rows)", med["status"], "informational"),
    ]  # fmt: skip
    for case, seconds, note in rows:
        print(f"{case:<46} {seconds:>8.2f} s  {note}")
    ok = ratio <= 2.0
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
