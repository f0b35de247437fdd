"""Start-up benchmark: `assetctl --version` and `assetctl --help` against a bare Typer app.

Run from the repository root with the project's interpreter:

    .venv/bin/python benchmarks/startup.py

Every sample is a fresh process. The floor is a bare Typer app (same interpreter, same installed
Typer, one command, `rich_markup_mode=None`, `add_completion=False`) written to a temporary file.
The script prints median/p90 per case, the ratio of each `assetctl` case to its floor, and which
heavy modules each case imported (from `python -X importtime`). It exits 1 when a ratio exceeds
`--max-ratio` (default 1.3) or when `assetctl` imports a module that must stay off the start-up
path, and 2 when a command fails or prints something unexpected.

Bytecode: PYTHONDONTWRITEBYTECODE may be set in the environment, so the script first runs
`compileall` over site-packages and `assetctl/` (skip with `--no-compile`); without `.pyc` files
every start pays about a second of compilation and the numbers mean nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "assetctl"

# Must never be imported by `assetctl --version` / `--help` (the project's start-up rule).
FORBIDDEN = ("sqlalchemy", "psycopg2", "redis", "httpx", "keyring", "jwt", "PIL", "alembic")
# Reported for every case; pydantic and rich are allowed but cost tens of milliseconds.
REPORTED = (*FORBIDDEN, "pydantic", "rich")

BARE_VERSION = "0.0.0"
BARE_APP = '''\
"""Bare Typer app: the start-up floor used by benchmarks/startup.py."""

import typer

app = typer.Typer(
    name="bare",
    help="A bare Typer app with one command.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={{"help_option_names": ["-h", "--help"]}},
    rich_markup_mode={markup!r},
)


def _version(value: bool) -> None:
    if value:
        print("bare {version}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """A bare Typer app with one command."""


@app.command()
def hello(
    name: str = typer.Option("world", help="Who to greet."),
    count: int = typer.Option(1, help="How many times."),
) -> None:
    """Say hello."""
    for _ in range(count):
        print(f"hello {{name}}")


if __name__ == "__main__":
    app()
'''


@dataclass
class Case:
    label: str
    argv: list[str]
    check: Callable[[str], bool]
    expected: str
    floor: str | None = None  # label of the case this one is compared against
    gated: bool = False  # True: the ratio to `floor` must stay within --max-ratio
    samples_ns: list[int] = field(default_factory=list)
    modules: set[str] = field(default_factory=set)
    module_count: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ns) / 1e6

    @property
    def p90_ms(self) -> float:
        if len(self.samples_ns) < 2:
            return self.median_ms
        return statistics.quantiles(self.samples_ns, n=10, method="inclusive")[8] / 1e6

    @property
    def min_ms(self) -> float:
        return min(self.samples_ns) / 1e6


class BenchmarkError(Exception):
    """A command failed or printed something unexpected."""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in (
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONSTARTUP",
        "PYTHONINSPECT",
        "COVERAGE_PROCESS_START",
    ):
        env.pop(name, None)
    env["COLUMNS"] = "100"
    return env


def compile_bytecode(python: str, extra: Sequence[Path] = ()) -> None:
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    targets = [purelib, *(str(p) for p in extra)]
    subprocess.run([python, "-m", "compileall", "-q", *targets], check=True)


def typer_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import typer; print(typer.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def run_once(case: Case, env: dict[str, str]) -> int:
    start = time.perf_counter_ns()
    proc = subprocess.run(case.argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter_ns() - start
    if proc.returncode != 0 or not case.check(proc.stdout):
        raise BenchmarkError(
            f"{case.label}: exit {proc.returncode}, expected {case.expected!r}\n"
            f"--- stdout ---\n{proc.stdout}--- stderr ---\n{proc.stderr}"
        )
    return elapsed


def probe_imports(case: Case, env: dict[str, str]) -> None:
    """Run the case once under `-X importtime` and record the top-level packages it imported."""
    python, *rest = case.argv
    if not Path(python).name.startswith("python"):
        # A console script: run it through the interpreter its shebang names.
        shebang = Path(python).read_text(encoding="utf-8").splitlines()[0]
        python, rest = shebang.removeprefix("#!").strip(), [python, *rest]
    proc = subprocess.run(
        [python, "-X", "importtime", *rest], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise BenchmarkError(f"{case.label}: importtime probe failed\n{proc.stderr}")
    names: set[str] = set()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        names.add(line.rsplit("|", 1)[1].strip())
    case.module_count = len(names)
    case.modules = {name.split(".")[0] for name in names}


def measure(cases: Sequence[Case], runs: int, warmup: int, env: dict[str, str]) -> None:
    for _ in range(warmup):
        for case in cases:
            run_once(case, env)
    # Round-robin so drift (thermal, other load on the machine) hits every case alike.
    for _ in range(runs):
        for case in cases:
            case.samples_ns.append(run_once(case, env))


def print_table(cases: Sequence[Case], max_ratio: float) -> list[str]:
    by_label = {case.label: case for case in cases}
    failures: list[str] = []
    header = f"{'case':<38} {'median':>8} {'p90':>8} {'min':>8} {'ratio':>7}  heavy imports"
    print(header)
    print("-" * len(header))
    for case in cases:
        ratio_text = ""
        if case.floor is not None:
            ratio = case.median_ms / by_label[case.floor].median_ms
            ratio_text = f"{ratio:.2f}x"
            if case.gated and ratio > max_ratio:
                failures.append(f"{case.label}: {ratio:.2f}x the floor (limit {max_ratio:.2f}x)")
        heavy = [name for name in REPORTED if name in case.modules]
        print(
            f"{case.label:<38} {case.median_ms:>6.1f}ms {case.p90_ms:>6.1f}ms "
            f"{case.min_ms:>6.1f}ms {ratio_text:>7}  {', '.join(heavy) or '-'}"
            f" ({case.module_count} modules)"
        )
        if case.label.startswith("assetctl"):
            bad = [name for name in FORBIDDEN if name in case.modules]
            if bad:
                failures.append(f"{case.label}: imports {', '.join(bad)}")
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per case (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per case (default 3)")
    parser.add_argument("--max-ratio", type=float, default=1.3, help="limit (default 1.3)")
    parser.add_argument(
        "--compare-python",
        action="append",
        default=[],
        metavar="PYTHON",
        help="also time the bare app under this interpreter (e.g. a venv with another Typer)",
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the compileall step (bytecode exists)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")

    python = sys.executable
    script = Path(python).parent / "assetctl"
    if not script.exists():
        print(f"error: {script} not found; run with the project's venv python", file=sys.stderr)
        return 2
    from assetctl import __version__

    if not args.no_compile:
        compile_bytecode(python, [PACKAGE_DIR])
        for other in args.compare_python:
            compile_bytecode(other)

    def has(text: str) -> Callable[[str], bool]:
        return lambda out: text in out

    version_line = f"assetctl {__version__}\n"
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="assetctl-bench-") as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP.format(markup=None, version=BARE_VERSION), encoding="utf-8")
        bare_rich = Path(tmp) / "bare_app_rich.py"
        bare_rich.write_text(BARE_APP.format(markup="rich", version=BARE_VERSION), encoding="utf-8")
        bare_out = f"bare {BARE_VERSION}\n"
        hello = ["hello", "--count", "2"]  # a real command: Typer converts its parameters
        hello_out = "hello world\nhello world\n"
        typer_here = typer_version(python)
        cases = [
            Case("bare --version", [python, str(bare), "--version"], bare_out.__eq__, bare_out),
            Case("bare --help", [python, str(bare), "--help"], has("Usage:"), "Usage:"),
            Case(
                "assetctl --version",
                [str(script), "--version"],
                version_line.__eq__,
                version_line,
                floor="bare --version",
                gated=True,
            ),
            Case(
                "assetctl --help",
                [str(script), "--help"],
                has("Usage: assetctl"),
                "Usage: assetctl",
                floor="bare --help",
                gated=True,
            ),
            # Context rows, never gated.
            Case("python -c pass", [python, "-c", "pass"], "".__eq__, ""),
            Case("bare hello --count 2", [python, str(bare), *hello], hello_out.__eq__, hello_out),
            Case(
                "bare --help (rich markup)",
                [python, str(bare_rich), "--help"],
                has("Usage:"),
                "Usage:",
                floor="bare --help",
            ),
        ]
        for other in args.compare_python:
            version = typer_version(other)
            cases += [
                Case(
                    f"bare --version (typer {version})",
                    [other, str(bare), "--version"],
                    bare_out.__eq__,
                    bare_out,
                    floor="bare --version",
                ),
                Case(
                    f"bare --help (typer {version})",
                    [other, str(bare), "--help"],
                    has("Usage:"),
                    "Usage:",
                    floor="bare --help",
                ),
                Case(
                    f"bare hello --count 2 (typer {version})",
                    [other, str(bare), *hello],
                    hello_out.__eq__,
                    hello_out,
                    floor="bare hello --count 2",
                ),
            ]
        try:
            for case in cases:
                probe_imports(case, env)
            measure(cases, args.runs, args.warmup, env)
        except BenchmarkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    cpus = os.cpu_count()
    print(
        f"Python {sys.version.split()[0]}, typer {typer_here}, assetctl {__version__}, "
        f"{cpus} CPUs; {args.runs} runs after {args.warmup} warm-ups per case, fresh processes"
    )
    print()
    failures = print_table(cases, args.max_ratio)
    print()
    if failures:
        for failure in failures:
            print(f"FAIL {failure}")
        return 1
    print(f"OK: every assetctl case is within {args.max_ratio:.2f}x its bare-Typer floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
