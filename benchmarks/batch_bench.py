"""Scripting at scale (issue 16): many assets per command, and fleet registration.

Run from the repository root with the project's interpreter (PostgreSQL reachable, `psql` on
PATH or at /usr/bin/psql):

    .venv/bin/python benchmarks/batch_bench.py [--items 1000] [--loop-items 100]
        [--facts 10000] [--repeat 3]

Assignments: N in-stock assets; (a) `psql -f` runs the same N UPDATEs and N history INSERTs
in one transaction; (b) `assetctl asset show` of one asset is the command's own start-up
(interpreter, imports, configuration, connecting, checking the session, one query);
(c) `assetctl asset assign --from FILE.jsonl` assigns all N in one command. Target:
(c) <= 2 x ((a) + (b)). (d) A shell loop of single `asset assign` commands over
`--loop-items` assets, extrapolated to N, is shown beside it (informational).
Facts: `assetctl asset register --facts FILE --tag-prefix F-` of M new machines against
`assetctl asset import` of M plain rows (the import benchmark's generator). Target <= 3x.
Each case starts from an emptied history and unassigned assets (or an empty table); medians
of --repeat runs. The database `assetctl_bench_<random>` is created and dropped here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from import_export_bench import (
    ASSETCTL,
    compile_bytecode,
    generate,
    psql,
    run,
    throwaway_database,
)


def seed(dsn: str, env: dict[str, str], items: int) -> None:
    run(
        psql(
            dsn,
            "TRUNCATE assets, asset_events RESTART IDENTITY CASCADE",
            "INSERT INTO assets (tag, name, category, status, version, created_at, updated_at, "
            "created_by, updated_by) SELECT 'B-' || lpad(i::text, 6, '0'), 'Laptop ' || i, "
            "'laptop', 'in_stock', 1, now(), now(), 'bench', 'bench' "
            f"FROM generate_series(1, {items}) AS i",
            "VACUUM ANALYZE assets",
        ),
        env,
    )


def reset(dsn: str, env: dict[str, str]) -> None:
    run(
        psql(
            dsn,
            "UPDATE assets SET assignee = NULL, status = 'in_stock'",
            "TRUNCATE asset_events RESTART IDENTITY",
        ),
        env,
    )


def person(i: int) -> str:
    return f"user{i % 997}@example.com"


def assignment_files(items: int, tmp: Path) -> tuple[Path, Path]:
    """The same N assignments as JSON Lines for assetctl and as SQL for psql."""
    jsonl, sql = tmp / "assign.jsonl", tmp / "assign.sql"
    with jsonl.open("w") as lines, sql.open("w") as script:
        script.write("BEGIN;\n")
        for i in range(1, items + 1):
            tag, to = f"B-{i:06d}", person(i)
            lines.write(json.dumps({"ref": tag, "to": to}) + "\n")
            changes = json.dumps(
                {
                    "assignee": {"old": None, "new": to},
                    "status": {"old": "in_stock", "new": "assigned"},
                }
            )
            script.write(
                f"UPDATE assets SET assignee = '{to}', status = 'assigned', "
                f"version = version + 1, updated_at = now(), updated_by = 'bench' "
                f"WHERE tag = '{tag}' AND deleted_at IS NULL;\n"
                f"INSERT INTO asset_events (asset_id, action, actor, at, changes) "
                f"SELECT id, 'assigned', 'bench', now(), '{changes}' FROM assets "
                f"WHERE tag = '{tag}' AND deleted_at IS NULL;\n"
            )
        script.write("COMMIT;\n")
    return jsonl, sql


def bench_assign(
    dsn: str, env: dict[str, str], items: int, loop_items: int, repeat: int, tmp: Path
) -> dict[str, float]:
    seed(dsn, env, items)
    jsonl, sql = assignment_files(items, tmp)
    times: dict[str, list[float]] = {"psql": [], "startup": [], "batch": []}
    for _ in range(repeat):
        reset(dsn, env)
        times["psql"].append(run([*psql(dsn), "-f", str(sql)], env).seconds)
        reset(dsn, env)
        show = [str(ASSETCTL), "-q", "asset", "show", "B-000001", "-o", "json"]
        times["startup"].append(run(show, env).seconds)
        assign = [str(ASSETCTL), "-q", "asset", "assign", "--from", str(jsonl), "-o", "jsonl"]
        times["batch"].append(run(assign, env).seconds)
    reset(dsn, env)
    loop = 0.0
    for i in range(1, loop_items + 1):
        single = [str(ASSETCTL), "-q", "asset", "assign", f"B-{i:06d}", "--to", person(i)]
        loop += run(single, env).seconds
    result = {key: statistics.median(values) for key, values in times.items()}
    result["loop"] = loop * items / loop_items
    return result


def facts_file(machines: int, tmp: Path) -> Path:
    path = tmp / "facts.jsonl"
    with path.open("w") as out:
        for i in range(machines):
            out.write(json.dumps({
                "serial": f"FS{i:010d}", "manufacturer": "Lenovo", "model": "ThinkPad T14",
                "hardware_uuid": str(uuid.UUID(int=i + 1)), "hostname": f"lap-{i}.corp.example",
                "os": "Ubuntu 24.04.1 LTS", "mac_addresses": [f"02:00:{i >> 16 & 255:02x}:"
                f"{i >> 8 & 255:02x}:{i & 255:02x}:01"], "chassis": "laptop",
            }) + "\n")  # fmt: skip
    return path


def bench_facts(
    dsn: str, env: dict[str, str], machines: int, repeat: int, tmp: Path
) -> dict[str, float]:
    facts = facts_file(machines, tmp)
    plain, _table, _snipeit = generate(machines, tmp)
    empty = psql(
        dsn, "TRUNCATE assets, asset_events RESTART IDENTITY CASCADE", "VACUUM ANALYZE assets"
    )
    times: dict[str, list[float]] = {"import": [], "facts": []}
    for _ in range(repeat):
        run(empty, env)
        times["import"].append(
            run([str(ASSETCTL), "-q", "asset", "import", str(plain)], env).seconds
        )
        run(empty, env)
        register = [
            str(ASSETCTL),
            "-q",
            "asset",
            "register",
            "--facts",
            str(facts),
            "--tag-prefix",
            "F-",
            "-o",
            "jsonl",
        ]
        times["facts"].append(run(register, env).seconds)
    return {key: statistics.median(values) for key, values in times.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--loop-items", type=int, default=100)
    parser.add_argument("--facts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="skip the compileall step")
    args = parser.parse_args(argv)
    if not args.no_compile:
        compile_bytecode()
    with throwaway_database() as db:
        assign = bench_assign(db.dsn, db.env, args.items, args.loop_items, args.repeat, db.tmp)
        facts = bench_facts(db.dsn, db.env, args.facts, args.repeat, db.tmp)
    floor = assign["psql"] + assign["startup"]
    assign_ratio = assign["batch"] / floor
    facts_ratio = facts["facts"] / facts["import"]
    print(f"median of {args.repeat} runs; PostgreSQL {db.dsn.rsplit('@', 1)[-1]}")
    rows = [
        (f"psql: {args.items:,} UPDATE+INSERT, 1 tx", assign["psql"], ""),
        ("assetctl start-up (asset show)", assign["startup"], ""),
        (f"asset assign --from ({args.items:,} JSONL)", assign["batch"],
         f"{assign_ratio:.2f}x of psql+start-up (target <= 2.0x)"),
        (f"shell loop of {args.items:,} single assigns", assign["loop"],
         f"extrapolated from {args.loop_items} (informational)"),
        (f"asset import ({args.facts:,} rows)", facts["import"], ""),
        (f"asset register --facts ({args.facts:,})", facts["facts"],
         f"{facts_ratio:.2f}x of import (target <= 3.0x)"),
    ]  # fmt: skip
    for case, seconds, note in rows:
        print(f"{case:<42} {seconds:>8.2f} s  {note}")
    ok = assign_ratio <= 2.0 and facts_ratio <= 3.0
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
