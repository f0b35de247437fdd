"""`describe` throughput: 32 photos, a fake Ollama answering in 200 ms, concurrency 8.

Run from the repository root with the project's interpreter:

    .venv/bin/python benchmarks/describe_bench.py

Each run is a fresh `assetctl describe DIR --concurrency 8 -o jsonl` process (the installed
console script) against `tests/vlm_fakes.FakeOllama` on 127.0.0.1 with 200 ms latency per
request. The ideal is the pure waiting time, 32 / 8 x 0.2 s = 0.8 s; the target is

    median wall time <= 1.5 x ideal + process start-up

where start-up is the median of fresh `assetctl describe MISSING.jpg` processes: the whole
command path (interpreter, Typer, settings, httpx and Pillow imports) with no image work and
no request. `assetctl describe --help` is shown for reference.

The photos are 4032x3024 JPEGs by default (a 12 MP phone camera), so decoding, resizing and
re-encoding every photo is inside the measured time; `--size 1280x960` or `--size 64x48`
measure the concurrency machinery with little image work. The script prints a table and
exits 1 when the target is missed, 2 when a run fails.

Bytecode is compiled first (see benchmarks/README.md, "Bytecode first"); `--no-compile`
skips that.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.vlm_fakes import FakeOllama  # noqa: E402

ASSETCTL = Path(sys.executable).parent / "assetctl"


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> int:
    """`count` distinct camera-sized JPEGs; returns their total size in bytes."""
    from PIL import Image, ImageDraw

    base = Image.linear_gradient("L").resize(size).convert("RGB")
    total = 0
    for i in range(count):
        image = base.copy()
        draw = ImageDraw.Draw(image)
        left, top = i * 97 % size[0], size[1] // 15
        box = (left, top, left + size[0] // 4, top + size[1] * 2 // 5)
        draw.rectangle(box, fill=(i * 7, 90, 160))
        path = folder / f"LAP-{i:04d}.jpg"
        image.save(path, "JPEG", quality=92)
        total += path.stat().st_size
    return total


@contextmanager
def photo_batch(count: int, size: tuple[int, int]) -> Iterator[tuple[FakeOllama, Path, int]]:
    """A running fake Ollama, a temporary directory with `count` photos in `photos/`, and
    their total size in bytes."""
    server = FakeOllama().start()
    server.decode_images = False
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            (tmp / "photos").mkdir()
            yield server, tmp, make_photos(tmp / "photos", count, size)
    finally:
        server.stop()


def compile_bytecode() -> None:
    import sysconfig

    purelib = sysconfig.get_paths()["purelib"]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", purelib, str(REPO / "assetctl")], check=True
    )


def clean_env(tmp: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETCTL_")}
    env.update(
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_DATA_HOME=str(tmp / "data"),
        ASSETCTL_VLM_PROVIDER="ollama",
        ASSETCTL_VLM_BASE_URL=url,
    )
    return env


def timed(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    parser.add_argument(
        "--size", default="4032x3024", help="photo size WxH (default: a 12 MP phone camera)"
    )
    parser.add_argument("--no-compile", action="store_true")
    options = parser.parse_args()
    width, height = (int(n) for n in options.size.lower().split("x"))
    if not options.no_compile:
        compile_bytecode()

    with photo_batch(options.photos, (width, height)) as (server, tmp, total_bytes):
        server.latency = options.latency
        photos = tmp / "photos"
        env = clean_env(tmp, server.url)
        startups: dict[str, list[float]] = {"help": [], "missing": []}
        probes = {"help": ["--help"], "missing": [str(tmp / "missing.jpg")]}
        for _ in range(options.runs + 1):
            for name, extra in probes.items():
                seconds, proc = timed([str(ASSETCTL), "describe", *extra], env)
                if proc.returncode != (0 if name == "help" else 2):
                    print(proc.stderr, file=sys.stderr)
                    return 2
                startups[name].append(seconds)
        startup = statistics.median(startups["missing"][1:])
        help_startup = statistics.median(startups["help"][1:])

        walls, cpus = [], []
        args = [str(ASSETCTL), "describe", str(photos), "--concurrency",
                str(options.concurrency), "-o", "jsonl"]  # fmt: skip
        for _ in range(options.runs + 1):  # the first run warms the page cache
            server.requests.clear()
            server.max_in_flight = 0
            cpu_before = children_cpu()
            seconds, proc = timed(args, env)
            cpus.append(children_cpu() - cpu_before)
            rows = [json.loads(line) for line in proc.stdout.splitlines()]
            if proc.returncode != 0 or len(rows) != options.photos:
                print(f"describe failed ({proc.returncode}): {proc.stderr}", file=sys.stderr)
                return 2
            walls.append(seconds)
        max_in_flight = server.max_in_flight

    ideal = options.photos / options.concurrency * options.latency
    wall = statistics.median(walls[1:])
    target = options.max_ratio * ideal + startup
    report(
        options, (width, height), total_bytes, max_in_flight, (startup, help_startup), walls, cpus
    )
    return 0 if wall <= target else 1


def report(
    options: argparse.Namespace,
    size: tuple[int, int],
    total_bytes: int,
    max_in_flight: int,
    startups: tuple[float, float],
    walls: list[float],
    cpus: list[float],
) -> None:
    width, height = size
    startup, help_startup = startups
    ideal = options.photos / options.concurrency * options.latency
    wall = statistics.median(walls[1:])
    target = options.max_ratio * ideal + startup
    ratio = (wall - startup) / ideal
    cpu = statistics.median(cpus[1:])
    load = os.getloadavg()[0]
    rows = [
        ("photos", f"{options.photos} x {width}x{height} JPEG, {total_bytes / 1e6:.1f} MB in all"),
        ("latency / concurrency", f"{options.latency * 1000:.0f} ms / {options.concurrency}"),
        ("requests in flight (max seen)", str(max_in_flight)),
        ("ideal (photos/concurrency x latency)", f"{ideal:.3f} s"),
        ("start-up: describe MISSING.jpg", f"{startup:.3f} s"),
        ("(for reference: describe --help)", f"{help_startup:.3f} s"),
        (f"wall time, median of {options.runs}", f"{wall:.3f} s (min {min(walls[1:]):.3f})"),
        ("(wall - start-up) / ideal", f"{ratio:.2f}x"),
        (
            "CPU time of the describe process",
            f"{cpu:.3f} s ({cpu / options.photos * 1000:.0f} ms/photo)",
        ),
        ("machine", f"{os.cpu_count()} CPUs, load average {load:.2f} at the end"),
        (f"target: {options.max_ratio} x ideal + start-up", f"{target:.3f} s"),
        ("verdict", "PASS" if wall <= target else "FAIL"),
    ]
    pad = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(pad)}  {value}")


if __name__ == "__main__":
    sys.exit(main())
