"""Benchmark: real commands as fresh processes, this checkout against a baseline install.

    .venv/bin/python benchmarks/command_startup.py --baseline OTHER/.venv/bin/assetctl \
        [--runs 20] [--rows 10000] [--max-ratio 1.1] [--instructions]

`startup.py` guards `--help` and `--version` against a bare Typer app; this one answers "did
a change make any command slower?" Each install gets its own embedded SQLite database
(migrated by itself, so the two may be at different schema revisions), the same N assets
(imported from one CSV), and a logged-in admin (token in a 0600 file). Then every case runs
round-robin, baseline and current alternating, so drift and load hit both alike. It prints
the median per case and the ratio current/baseline, and exits 1 when a ratio exceeds
--max-ratio.

`--instructions` counts instructions under `valgrind --tool=callgrind` instead of timing
(one run per case after a warm-up that writes the bytecode): slow, but the same count every
time whatever else the machine is doing, so a 1 % difference is real.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CURRENT = Path(sys.executable).parent / "assetctl"
EMAIL = "bench@example.com"
PASSWORD = "bench-password-123"

CASES: list[tuple[str, list[str]]] = [
    ("--version", ["--version"]),
    ("--help", ["--help"]),
    ("asset --help", ["asset", "--help"]),
    ("asset add --help", ["asset", "add", "--help"]),
    ("auth whoami", ["auth", "whoami", "-o", "json"]),
    ("asset list --limit 50", ["asset", "list", "--limit", "50", "-o", "json"]),
    ("asset list --search 777", ["asset", "list", "--search", "777", "-o", "json"]),
    ("asset show TAG-0000042", ["asset", "show", "TAG-0000042", "-o", "json"]),
    ("asset history TAG-0000042", ["asset", "history", "TAG-0000042", "-o", "json"]),
    ("asset update (no change)", ["asset", "update", "TAG-0000007", "--location", "Berlin"]),
    ("asset export -o csv", ["asset", "export", "-o", "csv"]),
]


def _csv(rows: int) -> str:
    lines = ["tag,name,category,status,serial,assignee,location"]
    for n in range(rows):
        assigned = n % 3 == 0
        lines.append(
            f"TAG-{n:07d},Device {n},{('laptop', 'monitor', 'phone')[n % 3]},"
            f"{'assigned' if assigned else 'in_stock'},SN{n:09d},"
            f"{f'user{n % 97}@example.com' if assigned else ''},Berlin"
        )
    return "\n".join(lines) + "\n"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETCTL_")}
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        ASSETCTL_AUTH_STORAGE="file",
        ASSETCTL_PUBLIC_IP_URLS="off",
        NO_COLOR="1",
    )
    return env


def _setup(binary: Path, home: Path, data: str) -> dict[str, str]:
    env = _env(home)

    def run(*args: str, stdin: str = "") -> None:
        proc = subprocess.run(
            [str(binary), *args], input=stdin, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise SystemExit(f"{binary} {' '.join(args)} failed: {proc.stderr}")

    run("init")
    run("auth", "register", "--email", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
    run("auth", "login", "--email", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
    run("asset", "import", "-", stdin=data)
    return env


def _time(binary: Path, env: dict[str, str], args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([str(binary), *args], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{binary} {' '.join(args)} exited {proc.returncode}: {proc.stderr!r}")
    return elapsed


def _instructions(binary: Path, env: dict[str, str], args: list[str]) -> float:
    import re

    _time(binary, env, args)  # writes the bytecode, so compiling is not counted
    callgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    proc = subprocess.run(
        [*callgrind, str(binary.parent / "python"), str(binary), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"valgrind {binary} {' '.join(args)} failed: {proc.stderr[-500:]}")
    return float(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline", type=Path, required=True, help="the other assetctl")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--max-ratio", type=float, default=1.1)
    parser.add_argument("--instructions", action="store_true", help="callgrind counts")
    args = parser.parse_args()
    if args.instructions:
        args.warmup, args.runs = 0, 1

    data = _csv(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        installs = {
            "baseline": (args.baseline, _setup(args.baseline, Path(tmp, "base"), data)),
            "current": (CURRENT, _setup(CURRENT, Path(tmp, "cur"), data)),
        }
        times: dict[tuple[str, str], list[float]] = {}
        for run in range(args.warmup + args.runs):
            for label, argv in CASES:
                for name, (binary, env) in installs.items():
                    measure = _instructions if args.instructions else _time
                    elapsed = measure(binary, {**env, "PYTHONDONTWRITEBYTECODE": ""}, argv)
                    if run >= args.warmup:
                        times.setdefault((label, name), []).append(elapsed)

    worst = 0.0
    unit, scale = ("M instr", 1e-6) if args.instructions else ("ms", 1000.0)
    print(f"{'case':32} {'baseline':>12} {'current':>12} {'ratio':>7}   ({unit})")
    print("-" * 68)
    for label, _ in CASES:
        base = statistics.median(times[(label, "baseline")])
        cur = statistics.median(times[(label, "current")])
        worst = max(worst, cur / base)
        print(f"{label:32} {base * scale:12.1f} {cur * scale:12.1f} {cur / base:6.3f}x")
    verdict = "OK" if worst <= args.max_ratio else "SLOWER"
    limit = f"limit {args.max_ratio:.2f}x"
    print(f"\n{verdict}: worst ratio {worst:.2f}x ({limit}), {args.rows} assets")
    return 0 if worst <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
