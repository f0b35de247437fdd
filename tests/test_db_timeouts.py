"""Issue 18, "Hangs": no command waits forever on the database.

A row locked by another session (a real `SELECT ... FOR UPDATE` left open) makes a write
fail after db_lock_timeout with exit 6 naming the asset; a statement that outlives
db_statement_timeout is exit 7; a server that accepts connections and then stops answering
(a real TCP peer on 127.0.0.1 that never replies, and one that stops relaying mid-session)
is exit 7, never a hang. All through the installed entry point.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from .auth_helpers import query
from .conftest import Cli, add_args, wait_for

# Statement timeouts and network peers are PostgreSQL's (SQLite is a local file).
ONLY_POSTGRES = pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@contextmanager
def _holding_row(url: str, tag: str) -> Iterator[None]:
    """Another session holding the asset's row (PostgreSQL) or the database's write lock
    (SQLite), until the block ends."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import psycopg2

    conn = psycopg2.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        conn.cursor().execute(
            "SELECT id FROM assets WHERE tag = %s AND deleted_at IS NULL FOR UPDATE", (tag,)
        )
        yield
    finally:
        conn.rollback()
        conn.close()


def _version(url: str, tag: str) -> int:
    [row] = query(url, "SELECT version FROM assets WHERE tag = :tag", tag=tag)
    return int(row["version"])


def test_a_held_row_lock_times_out_with_exit_6_naming_the_asset(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    cli.ok(*add_args("LAP-1"))
    env = {"ASSETCTL_DB_LOCK_TIMEOUT": "1"}
    with _holding_row(url, "LAP-1"):
        started = time.monotonic()
        result = cli.sub("asset", "update", "LAP-1", "--location", "Basement", env=env)
        elapsed = time.monotonic() - started
    assert result.exit_code == 6, result.stderr
    if url.startswith("sqlite"):
        # SQLite locks the whole file, so it cannot name the row.
        assert "another session is changing the same data" in result.stderr
    else:
        assert "error: another session is changing LAP-1; try again" in result.stderr
    assert "Traceback" not in result.stderr and "SQL" not in result.stderr
    assert elapsed < 30
    assert _version(url, "LAP-1") == 1
    # Once the other session is done, the same command goes through.
    cli.ok("asset", "update", "LAP-1", "--location", "Basement", env=env)
    assert _version(url, "LAP-1") == 2


@ONLY_POSTGRES
def test_a_statement_outliving_the_statement_timeout_is_exit_7(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    cli.ok(*add_args("LAP-1"))
    env = {"ASSETCTL_DB_LOCK_TIMEOUT": "0", "ASSETCTL_DB_STATEMENT_TIMEOUT": "1"}
    with _holding_row(url, "LAP-1"):
        result = cli.sub("asset", "update", "LAP-1", "--location", "Basement", env=env)
    assert result.exit_code == 7, result.stderr
    assert "did not answer within the statement timeout (1 s)" in result.stderr
    assert len(result.stderr.splitlines()) == 2  # the sentence and its hint
    assert _version(url, "LAP-1") == 1


def test_a_slow_sqlite_statement_is_interrupted_with_exit_7(
    sqlite_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    import assetctl.core.assets.commands

    def slow(session: Any, *_args: object, **_kwargs: object) -> None:
        # Counts to a billion: minutes of work, unless interrupted.
        endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        session.execute(text(endless + "WHERE i < 1000000000) SELECT max(i) FROM n"))

    monkeypatch.setattr(assetctl.core.assets.commands, "get_asset", slow)
    started = time.monotonic()
    result = sqlite_cli("asset", "show", "LAP-1", env={"ASSETCTL_DB_STATEMENT_TIMEOUT": "1"})
    assert result.exit_code == 7, result.stderr
    assert "did not answer within the statement timeout (1 s)" in result.stderr
    assert time.monotonic() - started < 30


def test_timeouts_are_settings_shown_by_config_show(cli: Cli) -> None:
    shown = {row["key"]: row for row in cli.ok("config", "show", "-o", "json").json()}
    assert float(shown["db_statement_timeout"]["value"]) == 30.0
    assert float(shown["db_lock_timeout"]["value"]) == 10.0
    bad = cli("config", "show", env={"ASSETCTL_DB_LOCK_TIMEOUT": "soon"})
    assert bad.exit_code == 2
    assert "db_lock_timeout" in bad.stderr and "'soon'" in bad.stderr


# --- frozen peers ---------------------------------------------------------------------------


class _Silent:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        self.accepted.append(conn)  # held open, never read, never answered

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            # shutdown, not just close: another thread may be blocked in recv on it, and
            # the PostgreSQL backend behind a proxy must see the end (it holds locks).
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class _FreezingProxy(_Silent):
    """Relays to PostgreSQL until the client sends `trigger`, then relays nothing more in
    either direction while keeping both connections open: a server that stopped answering
    in the middle of a session."""

    def __init__(self, target: tuple[str, int], trigger: bytes) -> None:
        self.target, self.trigger, self.frozen = target, trigger, threading.Event()
        super().__init__()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.target)
        self.accepted += [client, server]
        threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            if from_client and self.trigger in data:
                self.frozen.set()
            if self.frozen.is_set():
                continue  # swallowed: the "server" went silent
            try:
                dst.sendall(data)
            except OSError:
                return


@contextmanager
def _serving(server: Any) -> Iterator[Any]:
    try:
        yield server
    finally:
        server.close()


def _url_via(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(False)


@ONLY_POSTGRES
def test_a_server_that_accepts_and_never_answers_is_exit_7(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    with _serving(_Silent()) as silent:
        env = {"ASSETCTL_DATABASE_URL": _url_via(url, silent.port)}
        started = time.monotonic()
        result = cli.sub("asset", "list", env=env, timeout=60)
    assert result.exit_code == 7, result.stderr
    assert "cannot reach the database" in result.stderr
    assert "the server did not answer within 5 s" in result.stderr
    assert time.monotonic() - started < 30


@ONLY_POSTGRES
def test_a_server_that_stops_answering_mid_session_is_exit_7(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    cli.ok(*add_args("LAP-1"))
    parsed = make_url(url)
    proxy = _FreezingProxy((parsed.host or "127.0.0.1", parsed.port or 5432), b"FROM assets")
    with _serving(proxy):
        env = {"ASSETCTL_DATABASE_URL": _url_via(url, proxy.port),
               "ASSETCTL_DB_STATEMENT_TIMEOUT": "1"}  # fmt: skip
        started = time.monotonic()
        result = cli.sub("asset", "list", env=env, timeout=60)
        elapsed = time.monotonic() - started
        assert proxy.frozen.is_set(), "the listing query never reached the proxy"
    assert result.exit_code == 7, result.stderr
    assert "did not answer within 6 s" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "[SQL" not in result.stderr
    assert elapsed < 30
    # The abandoned server session ends with the connection (it held locks).
    left = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND application_name = 'assetctl'"
    )
    wait_for(lambda: query(url, left) == [], "the abandoned server session to end")
