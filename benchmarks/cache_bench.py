"""Benchmark: `assetctl asset list --limit 50 -o json` as a fresh process against PostgreSQL
with 100,000 assets, served from the Redis cache (hit) versus from the database (miss).

    .venv/bin/python benchmarks/cache_bench.py [--rows 100000] [--runs 30]

Creates a throwaway database (dropped at the end), registers an admin, loads the rows with
COPY, then times fresh processes round-robin. Exit status 1 when hit/miss > 0.5.
A hit is one database round trip over psycopg2 (the session check and the generation) and
one Redis GET; a miss imports SQLAlchemy, queries and stores.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ADMIN_URL = os.environ.get(
    "ASSETCTL_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("ASSETCTL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ASSETCTL = Path(sys.executable).parent / "assetctl"
TARGET = 0.5


def _admin() -> object:
    import psycopg2

    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    return conn


def seed_assets(dsn: str, rows: int, *, categories: tuple[str, ...], people: int) -> None:
    """`rows` assets by COPY (also data_command_cost's): every third one assigned to one of
    `people` users, the categories in turn, then the statistics brought up to date."""
    import psycopg2

    buf = io.StringIO()
    for n in range(rows):
        status = "assigned" if n % 3 == 0 else "in_stock"
        assignee = f"user{n % people}@example.com" if status == "assigned" else "\\N"
        buf.write(
            f"TAG-{n:07d}\tDevice {n}\t{categories[n % len(categories)]}\t{status}\t"
            f"SN{n:09d}\t{assignee}\t1\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\t"
            "bench\tbench\n"
        )
    buf.seek(0)
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.copy_expert(
            "COPY assets (tag, name, category, status, serial, assignee, version, created_at, "
            "updated_at, created_by, updated_by) FROM STDIN",
            buf,
        )
        cur.execute("ANALYZE")
    conn.close()


def _run(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run([str(ASSETCTL), *args], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"assetctl {' '.join(args)} failed: {proc.stderr.decode()}")
    return elapsed


def _bump(url: str) -> None:
    """Make the next read a miss: an add would too, but this leaves the data unchanged. The
    generation lives in the database; the superuser may move it (no client role may)."""
    import psycopg2

    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE cache_generations SET value = value + 1 WHERE name = 'data'")
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(sys.executable).parents[1] / "lib"),
         str(Path(__file__).parents[1] / "assetctl")],
        check=False, capture_output=True,
    )  # fmt: skip
    name = f"assetctl_bench_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    admin.cursor().execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    url = (
        ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://") + "/" + name
    )
    home = Path(f"/tmp/{name}")
    # Role names are cluster-wide: this run's own, dropped with its database.
    role_prefix = f"bench_{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ASSETCTL_")},
        "ASSETCTL_DATABASE_URL": url,
        "ASSETCTL_REDIS_URL": REDIS_URL,
        "ASSETCTL_AUTH_STORAGE": "file",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "ASSETCTL_DB_ROLE_PREFIX": role_prefix,
        "ASSETCTL_PUBLIC_IP_URLS": "off",
    }
    try:
        subprocess.run([str(ASSETCTL), "db", "upgrade"], env=env, check=True, capture_output=True)
        password = secrets.token_urlsafe(18)
        for command in (("auth", "register"), ("auth", "login")):
            subprocess.run(
                [str(ASSETCTL), *command, "--email", "bench@example.com", "--password-stdin"],
                env=env, input=(password + "\n").encode(), check=True, capture_output=True,
            )  # fmt: skip
        token = subprocess.run(
            [str(ASSETCTL), "auth", "token"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        env["ASSETCTL_TOKEN"] = token
        print(f"seeding {options.rows:,} assets ...", file=sys.stderr)
        seed_assets(
            url.replace("postgresql+psycopg2://", "postgresql://"),
            options.rows,
            categories=("laptop", "monitor", "phone", "dock", "tablet"),
            people=997,
        )
        listing = ("asset", "list", "--limit", "50", "-o", "json")
        for _ in range(3):
            _run(env, *listing)
        hits, misses, nocache = [], [], []
        for _ in range(options.runs):
            _bump(url)
            misses.append(_run(env, *listing))
            hits.append(_run(env, *listing))
            nocache.append(_run(env, *listing, "--no-cache"))
    finally:
        subprocess.run(["rm", "-rf", str(home)], check=False)
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
        from assetctl.db.roles import SUFFIXES

        for suffix in SUFFIXES:
            admin.cursor().execute(f'DROP ROLE IF EXISTS "{role_prefix}_{suffix}"')  # type: ignore[attr-defined]

    def row(label: str, values: list[float], base: float | None) -> str:
        med = statistics.median(values) * 1000
        p90 = statistics.quantiles(values, n=10)[-1] * 1000
        ratio = f"{statistics.median(values) / base:.2f}x" if base else "-"
        return f"{label:<34}{med:>9.1f}ms{p90:>9.1f}ms{ratio:>9}"

    miss_median = statistics.median(misses)
    print(
        f"\n{options.rows:,} assets, {options.runs} runs each, fresh processes, PostgreSQL + Redis"
    )
    print(f"{'case':<34}{'median':>11}{'p90':>11}{'vs miss':>9}")
    print(row("miss (cold cache, DB + store)", misses, miss_median))
    print(row("no cache (--no-cache)", nocache, miss_median))
    print(row("hit", hits, miss_median))
    ratio = statistics.median(hits) / miss_median
    verdict = "OK" if ratio <= TARGET else "FAIL"
    print(f"\n{verdict}: hit is {ratio:.2f}x the miss (target <= {TARGET}x)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
