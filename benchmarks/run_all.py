"""Run every benchmark in this directory, one after another, and report which met its target.

    .venv/bin/python benchmarks/run_all.py        (or: make bench)

Each benchmark prints its own table and exits non-zero when it misses its target; results
are recorded by hand in benchmarks/README.md. Run on a quiet machine: they time fresh
processes, and a busy second core skews every number.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "startup.py",
    "cache_bench.py",
    "describe_bench.py",
    "describe_memory_bench.py",
    "import_export_bench.py",
    "labels_bench.py",
    "ocr_bench.py",  # needs the `ocr` extra (make install installs it)
    "batch_bench.py",
    "audit_bench.py",
    "data_command_cost.py",
    "scale_bench.py",
)


def main() -> int:
    verdicts: list[tuple[str, int]] = []
    for script in BENCHMARKS:
        print(f"\n=== {script} ===", flush=True)
        code = subprocess.run([sys.executable, str(HERE / script)], check=False).returncode
        verdicts.append((script, code))
    print("\nbenchmark                 result")
    for script, code in verdicts:
        print(f"{script:<26}{'met its target' if code == 0 else f'MISSED (exit {code})'}")
    return 0 if all(code == 0 for _, code in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
