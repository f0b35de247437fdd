"""`describe` peak memory: a batch of 32 camera photos, and a decompression bomb.

Run from the repository root with the project's interpreter:

    .venv/bin/python benchmarks/describe_memory_bench.py

Each case is a fresh `assetctl describe ... -o jsonl` process (the installed console script)
against `tests/vlm_fakes.FakeOllama` on 127.0.0.1, and its peak resident set size is the
kernel's own count for that process (`wait4`'s `ru_maxrss`). The cases:

- batch: 32 distinct 4032x3024 JPEGs (12 MP, a phone camera) in one directory,
  `--concurrency 8`. Photos are prepared on one thread per core a few ahead of the requests
  in flight, so memory depends on the number of threads, not on the number of photos.
- bomb: one 140 KB 12000x12000 PNG (144 MP, 830 MB to decode), refused from its header by
  `image_max_pixels` before a pixel is decoded.
- baseline: `describe MISSING.jpg`, the process with its imports and no image work.

Targets: batch <= 150 MB and bomb <= 1.5 x baseline. The script prints a table and exits 1
when a target is missed, 2 when a run does not end as expected.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from describe_bench import clean_env, compile_bytecode, photo_batch  # noqa: E402

from tests.conftest import run_measured  # noqa: E402
from tests.vlm_fakes import write_png_bomb  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-limit-mb", type=float, default=150)
    parser.add_argument("--bomb-ratio", type=float, default=1.5)
    parser.add_argument("--no-compile", action="store_true")
    options = parser.parse_args()
    if not options.no_compile:
        compile_bytecode()
    with photo_batch(options.photos, (4032, 3024)) as (server, tmp, total):
        photos = tmp / "photos"
        bomb = write_png_bomb(tmp / "bomb.png")
        bomb_kb = bomb.stat().st_size / 1e3
        env = clean_env(tmp, server.url)
        concurrency = ["--concurrency", str(options.concurrency)]
        cases = {
            "baseline": (["describe", str(tmp / "missing.jpg")], 2),
            "bomb": (["describe", str(bomb), "-o", "jsonl"], 2),
            "batch": (["describe", str(photos), *concurrency, "-o", "jsonl"], 0),
        }
        peaks: dict[str, float] = {}
        for name, (args, expected) in cases.items():
            run = run_measured(args, env)
            if run.code != expected:
                print(f"{name}: exit {run.code}, not {expected}: {run.stderr}", file=sys.stderr)
                return 2
            peaks[name] = run.peak_rss_mb
    bomb_limit = options.bomb_ratio * peaks["baseline"]
    passed = peaks["batch"] <= options.batch_limit_mb and peaks["bomb"] <= bomb_limit
    rows = [
        ("baseline: describe MISSING.jpg", f"{peaks['baseline']:.0f} MB"),
        (
            f"batch: {options.photos} x 4032x3024 JPEG ({total / 1e6:.0f} MB), "
            f"concurrency {options.concurrency}",
            f"{peaks['batch']:.0f} MB (target <= {options.batch_limit_mb:.0f} MB)",
        ),
        (
            f"bomb: 12000x12000 PNG ({bomb_kb:.0f} KB)",
            f"{peaks['bomb']:.0f} MB (target <= {bomb_limit:.0f} MB)",
        ),
        ("machine", f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"),
        ("verdict", "PASS" if passed else "FAIL"),
    ]
    pad = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(pad)}  {value}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
