"""Test fixtures: real PostgreSQL and SQLite databases, and ways to run the CLI.

PostgreSQL: each run creates its own throwaway database (`assetctl_test_<random>`), migrates
it once, empties its tables between tests, and drops it at the end, so runs never collide.
If PostgreSQL cannot be reached its tests are skipped with a loud summary line, except under
`CI=true`, where that is a failure: a green CI always means the real server was exercised.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assetctl.cli.main import run

# The fake VLM servers' fixtures (`ollama`, `openai_server`), shared by the describe tests.
pytest_plugins = ("tests.vlm_fakes",)

PG_ADMIN_URL = os.environ.get(
    "ASSETCTL_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Role names are cluster-wide and other runs share the server: this run's roles (and test
# logins) all start with its own random prefix, and are dropped at the end of the session.
ROLE_PREFIX = f"at_{secrets.token_hex(4)}"
os.environ["ASSETCTL_DB_ROLE_PREFIX"] = ROLE_PREFIX
ASSETCTL_BIN = Path(sys.executable).parent / "assetctl"
# How long a test waits for another process to reach a state before it fails.
WAIT_S = 60
_unavailable: dict[str, str] = {}


def _pg_admin() -> Any:
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN_URL, connect_timeout=3)
    conn.autocommit = True
    return conn


def pg_url_for(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    return f"{base}/{database}"


def create_pg_database() -> str:
    """A new empty database; returns its name."""
    name = f"assetctl_test_{uuid.uuid4().hex[:12]}"
    conn = _pg_admin()
    try:
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return name


def drop_pg_database(name: str) -> None:
    conn = _pg_admin()
    try:
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def _service_missing(service: str, reason: str) -> None:
    _unavailable[service] = reason
    if IN_CI:
        pytest.fail(f"{service} is not reachable under CI=true: {reason}", pytrace=False)
    pytest.skip(f"{service} not reachable: {reason}")


ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"


def bootstrap_admin(url: str) -> str:
    """Register the first user (an admin) in the database at `url` and return a valid token
    for it, through the same core functions `auth register` and `auth login` use."""
    from assetctl.config import load_settings
    from assetctl.core.auth.accounts import login, register
    from assetctl.db.engine import unit_of_work

    settings = load_settings({"ASSETCTL_DATABASE_URL": url, "XDG_CONFIG_HOME": "/nonexistent"})
    with unit_of_work(url, write=True) as session:
        register(session, None, email=ADMIN_EMAIL, name="Admin", role=None, password=ADMIN_PASSWORD)
    with unit_of_work(url, write=True) as session:
        result = login(session, settings, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, host="test")
    return result.token


@dataclass(frozen=True)
class Database:
    url: str
    admin_token: str


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated throwaway PostgreSQL database for the whole run (its URL)."""
    try:
        name = create_pg_database()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        _service_missing("PostgreSQL", f"{PG_ADMIN_URL}: {exc}".splitlines()[0])
    url = pg_url_for(name)
    from assetctl.db.migrate import upgrade

    upgrade(url)
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A migrated SQLite file with the bootstrap admin, copied for every test (migrating and
    hashing each time would be slow). The admin's token is valid in every copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    from assetctl.db.migrate import upgrade

    upgrade(f"sqlite:///{path}")
    return path, bootstrap_admin(f"sqlite:///{path}")


def _truncate(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "TRUNCATE assets, asset_events, users, sessions, security_policy, "
                    "audit_sessions RESTART IDENTITY CASCADE"
                )
            )
            # A new key makes this a new database as far as tokens and the cache can tell.
            conn.execute(
                text("UPDATE app_meta SET value = :key WHERE key = 'jwt_secret'"),
                {"key": secrets.token_urlsafe(48)},
            )
    finally:
        engine.dispose()


def _sqlite_copy(tmp_path: Path, template: tuple[Path, str]) -> Database:
    path = tmp_path / "assetctl.db"
    shutil.copy(template[0], path)
    return Database(f"sqlite:///{path}", template[1])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: tuple[Path, str]
) -> Database:
    """A clean, migrated database (SQLite file or the run's PostgreSQL database) whose only
    user is the bootstrap admin, with a valid token for it."""
    if request.param == "sqlite":
        return _sqlite_copy(tmp_path, sqlite_template)
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    return Database(url, bootstrap_admin(url))


@pytest.fixture
def db_url(database: Database) -> str:
    return database.url


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: tuple[Path, str]) -> Database:
    return _sqlite_copy(tmp_path, sqlite_template)


@pytest.fixture
def sqlite_url(sqlite_database: Database) -> str:
    return sqlite_database.url


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)


def read_terminal(master: int) -> bytes:
    """Everything a child wrote to the pseudo-terminal `master` until it closed it (then
    `master` is closed too)."""
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return seen


@dataclass
class FreshRun:
    code: int
    modules: frozenset[str]
    stdout: str


_FRESH_PROBE = (
    "import json, sys\n"
    "from assetctl.cli.main import run\n"
    "code = run(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n"
)


def run_fresh(env: Mapping[str, str], *args: str) -> FreshRun:
    """`assetctl ARGS` through the error boundary in a fresh interpreter: its exit code,
    every module it imported, and its stdout. For checking what a command pulls in."""
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH_PROBE, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = proc.stderr.strip().splitlines()
    assert lines, (proc.returncode, proc.stdout)
    report = json.loads(lines[-1])
    return FreshRun(report["code"], frozenset(report["modules"]), proc.stdout)


@dataclass
class MeasuredRun:
    code: int
    stderr: str
    peak_rss_mb: float


# A small launcher between the measuring process and assetctl: a child's peak RSS counts
# the memory of whatever process it was forked from, so the launcher keeps that small.
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, file=sys.stderr)\n"
)


def run_measured(args: Sequence[str], env: Mapping[str, str]) -> MeasuredRun:
    """The installed entry point run with `args`: its exit status, stderr and peak resident
    set size (the kernel's count for that process alone)."""
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(ASSETCTL_BIN), *args],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    *lines, report = proc.stderr.splitlines()
    code, maxrss_kb = report.split()
    return MeasuredRun(int(code), "\n".join(lines), int(maxrss_kb) / 1024)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after WAIT_S seconds."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def base_env(tmp_path: Path, db_url: str | None = None) -> dict[str, str]:
    """A clean environment: no ASSETCTL_* from the developer's shell, private XDG dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETCTL_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env.pop("NO_COLOR", None)
    env["ASSETCTL_DB_ROLE_PREFIX"] = ROLE_PREFIX
    if db_url is not None:
        env["ASSETCTL_DATABASE_URL"] = db_url
    return env


# Issue 18, "Secrets in errors": what no error output may ever hold. Every failing run of
# `Cli` (in-process and subprocess) is checked against these and against the session ids of
# its own database, so each failure case of the suite doubles as a leak test.
_NEVER_IN_ERRORS = re.compile(
    r"\$argon2|eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.|\[parameters: |^\[SQL: ", re.MULTILINE
)
_TOKEN_LIKE = re.compile(r"(?<![\w-])[\w-]{32}(?![\w-])")


def _session_ids(url: str) -> set[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            sql = text("SELECT jti FROM sessions UNION SELECT jti FROM login_events")
            return {str(row[0]) for row in conn.execute(sql) if row[0]}
    except Exception:  # noqa: BLE001 - no database, or not migrated: no session ids
        return set()
    finally:
        engine.dispose()


def check_error_output(result: CliResult, env: Mapping[str, str], args: Sequence[str]) -> None:
    """Fail if a failing run's stderr holds a password hash, a token, SQL, SQL parameters or
    a session id (`jti`) of the database it ran against. `--debug` runs are exempt: their
    tracebacks show SQL by design (DESIGN.md), though never its parameters."""
    if result.exit_code == 0 or "--debug" in args:
        return
    text = result.stderr
    found = _NEVER_IN_ERRORS.search(text)
    if found:
        raise AssertionError(f"secret-like text {found.group()!r} in error output:\n{text}")
    candidates = set(_TOKEN_LIKE.findall(text))
    url = env.get("ASSETCTL_DATABASE_URL")
    if candidates and url:
        leaked = candidates & _session_ids(url)
        assert not leaked, f"session id {leaked} in error output:\n{text}"


class Cli:
    """Runs assetctl in-process through CliRunner's stream isolation and our error boundary,
    or as a real subprocess of the installed entry point (`.sub`)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> CliResult:
        runner = CliRunner()
        merged = {**self.env, **(env or {})}
        with runner.isolation(input=input, env=merged) as (out, err, _):
            code = run(list(args), env=merged)
            sys.stdout.flush()
            sys.stderr.flush()
            stdout = out.getvalue().decode()
            stderr = err.getvalue().decode()
        result = CliResult(code, stdout, stderr)
        check_error_output(result, merged, args)
        return result

    def sub(
        self,
        *args: str,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
    ) -> CliResult:
        proc = subprocess.run(
            [str(ASSETCTL_BIN), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
            check=False,
        )
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
        check_error_output(result, {**self.env, **(env or {})}, args)
        return result

    def ok(self, *args: str, **kwargs: Any) -> CliResult:
        """Run and assert success, showing stderr when it fails."""
        result = self(*args, **kwargs)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result


# Logins ask public echo services for the caller's IP: never from tests (the alert tests
# point ASSETCTL_PUBLIC_IP_URLS at their own servers on 127.0.0.1).
NO_IP_LOOKUP = {"ASSETCTL_PUBLIC_IP_URLS": "off"}


@pytest.fixture
def cli(tmp_path: Path, database: Database) -> Cli:
    """The CLI pointed at a clean database (SQLite and PostgreSQL), logged in as the
    bootstrap admin through ASSETCTL_TOKEN."""
    env = base_env(tmp_path, database.url)
    return Cli({**env, "ASSETCTL_TOKEN": database.admin_token, **NO_IP_LOOKUP})


@pytest.fixture
def sqlite_cli(tmp_path: Path, sqlite_database: Database) -> Cli:
    env = base_env(tmp_path, sqlite_database.url)
    return Cli({**env, "ASSETCTL_TOKEN": sqlite_database.admin_token, **NO_IP_LOOKUP})


@pytest.fixture
def bare_cli(tmp_path: Path) -> Cli:
    """The CLI with no database configured (embedded default under tmp_path)."""
    return Cli(base_env(tmp_path))


def add_args(tag: str, **fields: str) -> Sequence[str]:
    args = ["asset", "add", "--tag", tag, "--name", fields.pop("name", f"Device {tag}")]
    args += ["--category", fields.pop("category", "laptop")]
    for key, value in fields.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


def drop_run_roles() -> list[str]:
    """Drop every role this run created (its prefix); returns the ones that would not go."""
    try:
        conn = _pg_admin()
    except Exception:  # noqa: BLE001 - no server, so no roles either
        return []
    left: list[str] = []
    try:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s) "
            "ORDER BY rolname LIKE '%%\\_owner', rolcanlogin DESC",
            (ROLE_PREFIX,),
        )
        for (name,) in cursor.fetchall():
            try:
                cursor.execute(f'DROP ROLE IF EXISTS "{name}"')
            except Exception:  # noqa: BLE001 - objects left in a database not dropped
                left.append(name)
    finally:
        conn.close()
    return left


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    left = drop_run_roles()
    if left:
        print(f"\nWARNING: could not drop test roles {left}", file=sys.stderr)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for service, reason in _unavailable.items():
        terminalreporter.write_sep(
            "!", f"{service} NOT REACHABLE: its tests were SKIPPED ({reason})", red=True, bold=True
        )
