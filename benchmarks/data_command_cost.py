"""Benchmark: the fixed cost of every data command against PostgreSQL (issue 19, part 3).

    .venv/bin/python benchmarks/data_command_cost.py [--runs 15] [--rows 1000] [--max-ratio 1.3]
        [--instructions]

Each data command runs as a fresh `assetctl` process the way CI runs it: token in
ASSETCTL_TOKEN, `--no-cache` (no Redis configured at all), stdout a pipe. Its floor is what
the issue names: `python -c "import sqlalchemy.orm, psycopg2"` plus the same query done with
psycopg2, i.e. the sum of that import and a psycopg2 script (connect, the command's SQL,
commit). A stricter floor is printed beside it and not gated: one process that imports
sqlalchemy.orm and psycopg2 and then runs the query (it pays the interpreter and psycopg2
import once instead of twice).

`--breakdown` prints where `asset show`'s cost goes instead: callgrind counts of the import
stages (interpreter, sqlalchemy.orm + psycopg2, Typer, the PostgreSQL dialect, our tables,
every other module the command imports) and of the whole command, plus the messages it
sends to the server (strace). Run it with PYTHONPATH pointing at another checkout's package
to get that checkout's column (every process runs in `/`, so the current directory never
shadows it).

Every case runs round-robin with the others, so load on this shared machine hits them alike.
With `--instructions` each case is counted once under `valgrind --tool=callgrind` instead:
the client's instructions only (not the server's time, not the round trips), but the same
count whatever else the machine does. Exit 1 when a command exceeds --max-ratio of its floor.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from cache_bench import seed_assets

ADMIN_URL = os.environ.get(
    "ASSETCTL_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ASSETCTL = Path(sys.executable).parent / "assetctl"
TAG = "TAG-0000042"

# (label, assetctl arguments, the same work in SQL for the psycopg2 floor). `{n}` is new for
# every run of every process, so every write really changes the row.
CASES: list[tuple[str, list[str], list[str]]] = [
    (
        "asset show",
        ["asset", "show", TAG, "--no-cache"],
        [f"SELECT * FROM assets WHERE tag = '{TAG}' AND deleted_at IS NULL"],
    ),
    (
        "asset show -o json",
        ["asset", "show", TAG, "--no-cache", "-o", "json"],
        [f"SELECT * FROM assets WHERE tag = '{TAG}' AND deleted_at IS NULL"],
    ),
    (
        "asset list --limit 50",
        ["asset", "list", "--limit", "50", "--no-cache"],
        ["SELECT * FROM assets WHERE deleted_at IS NULL ORDER BY tag, id LIMIT 51"],
    ),
    (
        "asset list --search",
        ["asset", "list", "--search", "ice 77", "--no-cache", "-o", "json"],
        [
            "SELECT * FROM assets WHERE deleted_at IS NULL AND (tag ILIKE '%ice 77%' OR "
            "name ILIKE '%ice 77%' OR serial ILIKE '%ice 77%' OR model ILIKE '%ice 77%' OR "
            "assignee ILIKE '%ice 77%') ORDER BY tag, id LIMIT 51"
        ],
    ),
    (
        "asset update --location",
        ["asset", "update", TAG, "--location", "Room {n}"],
        [
            "UPDATE assets SET location = 'Room {n}', version = version + 1, "
            f"updated_at = now(), updated_by = 'bench' WHERE tag = '{TAG}' "
            "AND deleted_at IS NULL RETURNING *"
        ],
    ),
    (
        "asset assign",
        ["asset", "assign", "TAG-0000043", "--to", "person{n}@example.com"],
        [
            "UPDATE assets SET assignee = 'person{n}@example.com', status = 'assigned', "
            "version = version + 1, updated_at = now(), updated_by = 'bench' "
            "WHERE tag = 'TAG-0000043' AND deleted_at IS NULL RETURNING *"
        ],
    ),
    (
        "asset history",
        ["asset", "history", TAG],
        [
            "SELECT e.* FROM asset_events e JOIN assets a ON a.id = e.asset_id "
            f"WHERE a.tag = '{TAG}' ORDER BY e.id"
        ],
    ),
    (
        "user list",
        ["user", "list"],
        ["SELECT id, email, name, role, active, created_at FROM users ORDER BY email"],
    ),
]

_PSYCOPG2_SCRIPT = """\
import sys
{imports}
conn = psycopg2.connect(sys.argv[1])
cur = conn.cursor()
for statement in sys.argv[2:]:
    cur.execute(statement)
    rows = cur.fetchall()
    sys.stdout.write(repr(rows))
conn.commit()
conn.close()
"""
IMPORT_ONLY = "import sqlalchemy.orm, psycopg2"


def _admin() -> object:
    import psycopg2

    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    return conn


def _measure(argv: list[str], env: dict[str, str], instructions: bool) -> float:
    if instructions:
        callgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        proc = subprocess.run(
            [*callgrind, *argv], env=env, capture_output=True, text=True, check=False, cwd="/"
        )
        found = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode != 0 or found is None:
            raise SystemExit(f"valgrind {argv} failed: {proc.stderr[-800:]}")
        return float(found.group(1))
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, cwd="/")
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv} exited {proc.returncode}: {proc.stderr[-800:]}")
    return elapsed


def _prepare(env: dict[str, str]) -> None:
    def run(*args: str, stdin: str = "") -> str:
        proc = subprocess.run(
            [str(ASSETCTL), *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"assetctl {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout

    run("db", "upgrade")
    password = secrets.token_urlsafe(18)
    for command in (("auth", "register"), ("auth", "login")):
        run(*command, "--email", "bench@example.com", "--password-stdin", stdin=password + "\n")
    env["ASSETCTL_TOKEN"] = run("auth", "token").strip()


def _python() -> list[str]:
    # Interpreter as the console script runs it (no -I, no -S): the same site start-up.
    return [sys.executable]


STAGES = [
    ("interpreter (python -c pass)", "pass"),
    ("+ sqlalchemy.orm, psycopg2", "import sqlalchemy.orm, psycopg2"),
    ("+ typer", "import sqlalchemy.orm, psycopg2, typer"),
    ("+ PostgreSQL dialect", "import sqlalchemy.orm, psycopg2, typer, {pg}"),
    ("+ assetctl.db.tables", "import sqlalchemy.orm, psycopg2, typer, {pg}, {tables}"),
    ("+ every other module it imports", "import {all}"),
]
# Runs the command and lists every module it imported, in import order. sys.modules, not
# `-X importtime`: importtime does not see modules imported through importlib.import_module
# (the ORM areas of assetctl.db.models, lazily loaded settings parsers).
_MODULES = (
    "import runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
    "finally:\n"
    "    sys.stderr.write(''.join(f'\\nmodule {m}' for m in list(sys.modules)))\n"
)


def _output(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False, cwd="/")


def _breakdown(env: dict[str, str]) -> None:
    """Where `asset show` spends its instructions, stage by stage, and its round trips."""
    show = [str(ASSETCTL), "asset", "show", TAG, "--no-cache"]
    listed = _output([sys.executable, "-c", _MODULES, *show], env)
    names = [line[7:] for line in listed.stderr.splitlines() if line.startswith("module ")]
    usable = [
        name
        for name in names
        if name and not name.startswith("_") and name not in ("__main__", "sys", "builtins")
        and _output([sys.executable, "-c", f"import {name}"], env).returncode == 0
    ]  # fmt: skip
    parts = {
        "pg": "sqlalchemy.dialects.postgresql.psycopg2",
        "tables": "assetctl.db.tables",
        "all": ", ".join(usable),
    }
    print(f"{'stage':40}{'M instr':>10}{'step':>10}")
    last = 0.0
    for label, code in STAGES:
        count = _measure([sys.executable, "-c", code.format(**parts)], env, True) / 1e6
        print(f"{label:40}{count:10.1f}{count - last:10.1f}")
        last = count
    whole = _measure([sys.executable, *show], env, True) / 1e6
    print(f"{'asset show (the whole command)':40}{whole:10.1f}{whole - last:10.1f}")
    sends = _output(["strace", "-f", "-e", "trace=sendto", *show], env).stderr.count("sendto(")
    print(f"messages sent to PostgreSQL (strace sendto): {sends}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--max-ratio", type=float, default=1.3)
    parser.add_argument("--instructions", action="store_true", help="callgrind counts")
    parser.add_argument("--breakdown", action="store_true", help="where asset show's cost goes")
    options = parser.parse_args()
    if options.instructions:
        options.warmup, options.runs = 1, 1

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(sys.executable).parents[1] / "lib"),
         str(root / "assetctl")],
        check=False, capture_output=True,
    )  # fmt: skip
    name = f"assetctl_bench_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    admin.cursor().execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    base = ADMIN_URL.rsplit("/", 1)[0]
    dsn = f"{base}/{name}"
    role_prefix = f"bench_{uuid.uuid4().hex[:8]}"  # role names are cluster-wide
    home = Path(f"/tmp/{name}")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ASSETCTL_")},
        "ASSETCTL_DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg2://"),
        "ASSETCTL_AUTH_STORAGE": "file",
        "ASSETCTL_DB_ROLE_PREFIX": role_prefix,
        "ASSETCTL_PUBLIC_IP_URLS": "off",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONDONTWRITEBYTECODE": "",
    }
    times: dict[str, list[float]] = {}
    try:
        _prepare(env)
        print(f"seeding {options.rows:,} assets ...", file=sys.stderr)
        seed_assets(dsn, options.rows, categories=("laptop",), people=97)
        if options.breakdown:
            _breakdown(env)
            return 0
        import_only = [*_python(), "-c", IMPORT_ONLY]
        for run in range(options.warmup + options.runs):
            sample = {
                "import sqlalchemy.orm, psycopg2": _measure(import_only, env, options.instructions)
            }
            for label, args, sql in CASES:
                for kind, imports in (("psycopg2", "import psycopg2"), ("one", IMPORT_ONLY)):
                    statements = [s.replace("{n}", f"{run}{kind}") for s in sql]
                    script = _PSYCOPG2_SCRIPT.format(imports=imports)
                    argv = [*_python(), "-c", script, dsn, *statements]
                    sample[f"{label}|{kind}"] = _measure(argv, env, options.instructions)
                cli = [str(ASSETCTL), *(a.replace("{n}", f"{run}cli") for a in args)]
                if options.instructions:
                    cli = [*_python(), *cli]
                sample[f"{label}|assetctl"] = _measure(cli, env, options.instructions)
            if run >= options.warmup:
                for key, value in sample.items():
                    times.setdefault(key, []).append(value)
    finally:
        subprocess.run(["rm", "-rf", str(home)], check=False)
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
        from assetctl.db.roles import SUFFIXES

        for suffix in SUFFIXES:
            admin.cursor().execute(f'DROP ROLE IF EXISTS "{role_prefix}_{suffix}"')  # type: ignore[attr-defined]
    return _report(times, options)


def _report(times: dict[str, list[float]], options: argparse.Namespace) -> int:
    unit, scale = ("M instr", 1e-6) if options.instructions else ("ms", 1000.0)
    med = {key: statistics.median(values) for key, values in times.items()}
    imports = med[IMPORT_ONLY]
    what = "callgrind, 1 run" if options.instructions else f"median of {options.runs} runs"
    print(f"\nPostgreSQL, {options.rows:,} assets, fresh processes, {what} ({unit})")
    print(f"import sqlalchemy.orm, psycopg2: {imports * scale:.1f}")
    header = f"{'command':26}{'psycopg2':>10}{'floor':>10}{'assetctl':>10}{'ratio':>8}"
    print(f"{header}{'one-process floor':>20}{'ratio':>8}")
    worst = 0.0
    for label, _, _ in CASES:
        query, one, cli = med[f"{label}|psycopg2"], med[f"{label}|one"], med[f"{label}|assetctl"]
        floor = imports + query
        worst = max(worst, cli / floor)
        print(
            f"{label:26}{query * scale:10.1f}{floor * scale:10.1f}{cli * scale:10.1f}"
            f"{cli / floor:7.2f}x{one * scale:20.1f}{cli / one:7.2f}x"
        )
    verdict = "OK" if worst <= options.max_ratio else "TARGET MISSED"
    print(f"\n{verdict}: worst ratio {worst:.2f}x of the floor (limit {options.max_ratio:.2f}x)")
    return 0 if worst <= options.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
