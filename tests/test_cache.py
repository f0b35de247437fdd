"""The Redis listing cache, against the real Redis server (and a few throwaway ones the tests
start, stop or fake), on PostgreSQL; SQLite ignores it. The exactness, session and ACL tests
of issue 19 are in test_cache_exact.py."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.auth_helpers import as_user, register, token_for
from tests.conftest import (
    IN_CI,
    Cli,
    Database,
    _service_missing,
    _truncate,
    add_args,
    bootstrap_admin,
    run_fresh,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """The cache serves PostgreSQL only (its generation and session check live there):
    every test here runs on the run's PostgreSQL database. SQLite: see
    test_sqlite_ignores_the_cache."""
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    return Database(url, bootstrap_admin(url))


@pytest.fixture
def rcli(cli: Cli) -> Cli:
    """The logged-in CLI with the shared cache switched on."""
    if not _redis_up(REDIS_URL):
        _service_missing("Redis", f"{REDIS_URL} does not answer PING")
    return Cli({**cli.env, "ASSETCTL_REDIS_URL": REDIS_URL})


def _keys(pattern: str) -> list[bytes]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    return list(client.scan_iter(match=pattern))


def _namespace(cli: Cli) -> str:
    from assetctl.db.engine import unit_of_work
    from assetctl.db.identity import database_identity

    with unit_of_work(cli.env["ASSETCTL_DATABASE_URL"]) as session:
        identity = database_identity(session)
    assert identity is not None
    return identity


def _names(result_stdout: str) -> list[str]:
    return [item["name"] for item in json.loads(result_stdout)["items"]]


def _stats(cli: Cli) -> dict[str, int]:
    data = cli.ok("cache", "stats", "-o", "json").json()
    return {"hits": int(data["hits"]), "misses": int(data["misses"])}


def test_second_listing_is_a_hit_and_a_write_is_seen_at_once(rcli: Cli) -> None:
    rcli.ok(*add_args("LAP-1", name="Before"))
    first = rcli.ok("asset", "list", "-o", "json")
    before = _stats(rcli)
    again = rcli.ok("asset", "list", "-o", "json")
    assert again.stdout == first.stdout
    after = _stats(rcli)
    assert after["hits"] == before["hits"] + 1
    rcli.ok("asset", "update", "LAP-1", "--name", "After")
    assert _names(rcli.ok("asset", "list", "-o", "json").stdout) == ["After"]


def test_other_process_sees_the_change(rcli: Cli) -> None:
    rcli.ok(*add_args("LAP-1", name="Before"))
    assert _names(rcli.sub("asset", "list", "-o", "json").stdout) == ["Before"]
    assert _names(rcli.sub("asset", "list", "-o", "json").stdout) == ["Before"]  # a hit
    updated = rcli.sub("asset", "update", "LAP-1", "--name", "After")
    assert updated.exit_code == 0, updated.stderr
    assert _names(rcli.sub("asset", "list", "-o", "json").stdout) == ["After"]
    shown = rcli.sub("asset", "show", "LAP-1", "-o", "json")
    assert json.loads(shown.stdout)["name"] == "After"


def test_hit_renders_exactly_like_a_miss_in_every_format(rcli: Cli) -> None:
    rcli.ok(*add_args("LAP-1", purchase_cost="1299.50", purchase_date="2026-01-02"))
    for fmt in ("json", "jsonl", "csv", "tsv", "table"):
        miss = rcli.ok("asset", "list", "-o", fmt, "--no-cache")
        rcli.ok("asset", "list", "-o", fmt)
        hit = rcli.ok("asset", "list", "-o", fmt)
        assert hit.stdout == miss.stdout, fmt
        show_miss = rcli.ok("asset", "show", "LAP-1", "-o", fmt, "--no-cache")
        rcli.ok("asset", "show", "LAP-1", "-o", fmt)
        assert rcli.ok("asset", "show", "LAP-1", "-o", fmt).stdout == show_miss.stdout


def test_cache_hit_does_not_import_sqlalchemy(rcli: Cli) -> None:
    """A hit asks the database through the bare driver (psycopg2), never SQLAlchemy."""
    rcli.ok(*add_args("LAP-1"))
    rcli.ok("asset", "list", "--limit", "50", "-o", "json")  # warm the cache
    before = _stats(rcli)
    fresh = run_fresh(rcli.env, "asset", "list", "--limit", "50", "-o", "json")
    heavy = sorted(m for m in fresh.modules if m.split(".")[0] in ("sqlalchemy", "alembic"))
    assert (fresh.code, heavy) == (0, [])
    assert "psycopg2" in fresh.modules  # the session check and generation: one round trip
    assert json.loads(fresh.stdout)["items"][0]["tag"] == "LAP-1"
    assert _stats(rcli)["hits"] == before["hits"] + 1


def test_write_racing_a_read_is_never_served(rcli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write commits between a miss's query and its cache store: the page stored is the
    old one, but under the old generation, so the next read must see the write."""
    from assetctl.cache import Cache

    rcli.ok(*add_args("LAP-1", name="Old"))
    fired: list[int] = []
    store = Cache.put

    def commit_a_write_first(self: Cache, *args: Any, **kwargs: Any) -> None:
        # The miss has queried the database; the write lands before it stores the page.
        if not fired:
            fired.append(1)
            rcli.ok("asset", "update", "LAP-1", "--name", "New")
        store(self, *args, **kwargs)

    monkeypatch.setattr(Cache, "put", commit_a_write_first)
    racing = rcli.ok("asset", "list", "-o", "json")
    assert fired == [1]
    assert _names(racing.stdout) == ["Old"]  # the read's own answer predates the write
    assert _names(rcli.ok("asset", "list", "-o", "json").stdout) == ["New"]
    assert _names(rcli.ok("asset", "list", "-o", "json").stdout) == ["New"]


def test_revoked_session_is_refused_on_the_next_command(rcli: Cli) -> None:
    register(rcli, "v@example.com", "viewer")
    viewer = as_user(rcli, token_for(rcli, "v@example.com"))
    viewer.ok("asset", "list")
    viewer.ok("asset", "list")  # the session check is cached now
    viewer.ok("auth", "logout")
    assert viewer("asset", "list").exit_code == 4

    other = as_user(rcli, token_for(rcli, "v@example.com"))
    other.ok("asset", "list")
    other.ok("asset", "list")
    rcli.ok("user", "disable", "v@example.com")
    refused = other("asset", "list")
    assert refused.exit_code == 4
    assert "disabled" in refused.stderr


def test_cache_entries_are_namespaced_per_database(rcli: Cli) -> None:
    rcli.ok(*add_args("LAP-1"))
    rcli.ok("asset", "list")
    data = rcli.ok("cache", "stats", "-o", "json").json()
    namespace = _namespace(rcli)
    # The page and the miss counter, all under this database's namespace; no generation
    # and no session check live in Redis any more.
    assert data["keys"] == len(_keys(f"assetctl:{namespace}:*")) >= 2
    assert len(_keys(f"assetctl:{namespace}:*:list:*")) == 1
    assert _keys(f"assetctl:{namespace}:gen:*") == []
    assert _keys(f"assetctl:{namespace}:auth:*") == []
    assert data["redis"] == REDIS_URL


def test_corrupt_and_foreign_schema_entries_are_replaced(rcli: Cli) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    rcli.ok(*add_args("LAP-1", name="Real"))
    rcli.ok("asset", "list", "-o", "json")
    pages = _keys(f"assetctl:{_namespace(rcli)}:*:list:*")
    assert len(pages) == 1
    for key in pages:
        client.set(key, b"\x00not json{")
    result = rcli.ok("asset", "list", "-o", "json")
    assert _names(result.stdout) == ["Real"]
    assert "warning:" in result.stderr
    replaced = [client.get(k) for k in pages]
    assert replaced
    for value in replaced:
        assert isinstance(value, bytes)
        assert json.loads(value)["kind"] == "list"

    for key in pages:
        client.set(key, json.dumps({"schema": "0000_old", "kind": "list",
                                    "value": {"rows": [], "next_cursor": None}}))  # fmt: skip
    assert _names(rcli.ok("asset", "list", "-o", "json").stdout) == ["Real"]


def test_malformed_redis_url_is_a_usage_error(cli: Cli) -> None:
    result = cli("asset", "list", env={"ASSETCTL_REDIS_URL": "http://nope"})
    assert result.exit_code == 2
    assert "ASSETCTL_REDIS_URL" in result.stderr
    bad_port = cli("asset", "list", env={"ASSETCTL_REDIS_URL": "redis://h:99999999/0"})
    assert bad_port.exit_code == 2


def test_unreachable_redis_warns_once_and_answers(cli: Cli) -> None:
    cli.ok(*add_args("LAP-1"))
    down = Cli({**cli.env, "ASSETCTL_REDIS_URL": "redis://127.0.0.1:1/0"})
    result = down.ok("asset", "list", "-o", "json")
    assert [i["tag"] for i in json.loads(result.stdout)["items"]] == ["LAP-1"]
    assert result.stderr.count("warning:") == 1
    assert "127.0.0.1:1" in result.stderr
    quiet = down.ok("-q", "asset", "list", "-o", "json")
    assert quiet.stderr == ""
    down.ok("asset", "update", "LAP-1", "--name", "Changed")  # writes never fail either


def test_wrong_redis_password_warns_and_answers(cli: Cli, password_redis: str) -> None:
    cli.ok(*add_args("LAP-1"))
    right = Cli({**cli.env, "ASSETCTL_REDIS_URL": password_redis})
    right.ok("asset", "list")
    assert right.ok("asset", "list").stderr == ""  # the right password works silently
    wrong_url = password_redis.replace("the-right-password", "not-the-password")
    wrong = Cli({**cli.env, "ASSETCTL_REDIS_URL": wrong_url})
    result = wrong.ok("asset", "list", "-o", "json")
    assert json.loads(result.stdout)["items"][0]["tag"] == "LAP-1"
    assert result.stderr.count("warning:") == 1
    assert "not-the-password" not in result.stderr


@pytest.fixture
def garbage_server() -> Iterator[int]:
    """A TCP server that answers every connection with bytes that are not RESP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n<html>garbage</html>\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


def test_redis_answering_garbage_is_bypassed(cli: Cli, garbage_server: int) -> None:
    cli.ok(*add_args("LAP-1"))
    env = {"ASSETCTL_REDIS_URL": f"redis://127.0.0.1:{garbage_server}/0"}
    result = cli.ok("asset", "list", "-o", "json", env=env)
    assert json.loads(result.stdout)["items"][0]["tag"] == "LAP-1"
    assert result.stderr.count("warning:") == 1


def _start_redis(tmp_path: Path, *extra: str) -> tuple[str, subprocess.Popen[bytes]]:
    """A private redis-server on a free port, which the test may stop."""
    binary = shutil.which("redis-server")
    if binary is None:
        if IN_CI:
            pytest.fail("redis-server is not installed", pytrace=False)
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    password = extra[extra.index("--requirepass") + 1] if "--requirepass" in extra else ""
    url = f"redis://:{password}@127.0.0.1:{port}/0" if password else f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if _redis_up(url):
            break
        time.sleep(0.05)
    return url, proc


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    url, proc = _start_redis(tmp_path)
    yield url, proc
    proc.kill()
    proc.wait(5)


@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[str]:
    url, proc = _start_redis(tmp_path, "--requirepass", "the-right-password")
    yield url
    proc.kill()
    proc.wait(5)


def test_redis_stopped_mid_run(cli: Cli, own_redis: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, proc = own_redis
    env = {"ASSETCTL_REDIS_URL": url}
    cli.ok(*add_args("LAP-1", name="Before"), env=env)
    cli.ok("asset", "list", env=env)
    cli.ok("asset", "list", env=env)
    proc.kill()
    proc.wait(5)
    cli.ok("asset", "update", "LAP-1", "--name", "After", env=env)
    result = cli.ok("asset", "list", "-o", "json", env=env)
    assert _names(result.stdout) == ["After"]
    assert result.stderr.count("warning:") == 1


def test_cache_clear_needs_admin_and_empties_the_namespace(rcli: Cli) -> None:
    rcli.ok(*add_args("LAP-1"))
    rcli.ok("asset", "list")
    register(rcli, "op@example.com", "operator")
    operator = as_user(rcli, token_for(rcli, "op@example.com"))
    denied = operator("cache", "clear")
    assert denied.exit_code == 5
    assert rcli.ok("cache", "stats", "-o", "json").json()["keys"] > 0
    rcli.ok("cache", "clear")
    assert rcli.ok("cache", "stats", "-o", "json").json()["keys"] <= 3  # the stats' own counters


def test_cache_commands_without_redis(cli: Cli) -> None:
    result = cli("cache", "stats")
    assert result.exit_code == 2
    assert "ASSETCTL_REDIS_URL" in result.stderr


def test_doctor_reports_redis(rcli: Cli) -> None:
    assert "redis" in rcli.ok("doctor").stdout
    down = rcli("doctor", env={"ASSETCTL_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert down.exit_code == 7
    assert "FAIL redis" in down.stdout.replace("  ", " ") or "FAIL" in down.stdout


def test_sqlite_ignores_the_cache(sqlite_cli: Cli) -> None:
    """The cache serves PostgreSQL only: on SQLite a configured Redis is not used at all
    (no warning, no key), and the cache commands say why."""
    env = {"ASSETCTL_REDIS_URL": "redis://127.0.0.1:1/0"}  # would warn if it were used
    sqlite_cli.ok(*add_args("LAP-1"), env=env)
    for _ in range(2):
        listed = sqlite_cli.ok("asset", "list", "-o", "json", env=env)
        assert (_names(listed.stdout), listed.stderr) == (["Device LAP-1"], "")
    stats = sqlite_cli("cache", "stats", env=env)
    assert stats.exit_code == 2
    assert "PostgreSQL databases only" in stats.stderr
    assert sqlite_cli("cache", "clear", env=env).exit_code == 2
