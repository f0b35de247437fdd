"""Issue 18, "Races and policy": the last active admin survives 8 admins demoting and
disabling each other at the same moment, on both databases, as 8 real processes.

On PostgreSQL the test holds a lock on every admin row while the processes start and
releases it only once all 8 are blocked, so every process has passed its login check before
any of them changes anything: the race is exercised on every run, not by luck (before the
fix, all 8 counted 7 other admins and all succeeded, leaving none). On SQLite writers queue
on the database lock, so starting all at once is the real situation.
"""

from __future__ import annotations

import subprocess
import time

from sqlalchemy import create_engine, text

from .auth_helpers import as_user, query, register, token_for
from .conftest import ADMIN_EMAIL, Cli, CliResult
from .test_concurrency import _finish, _start

ADMINS = 8
WAIT_LIMIT_S = 60


def _blocked(conn: object, count: int, procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    sql = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'assetctl' AND wait_event_type = 'Lock'"
    )
    while conn.execute(sql).scalar_one() < count:  # type: ignore[attr-defined]
        exited = [p for p in procs if p.poll() is not None]
        assert not exited, [_finish(p) for p in exited]
        assert time.monotonic() < deadline, "the processes never reached the admin rows' lock"
        time.sleep(0.02)


def _run_all(url: str, commands: list[tuple[Cli, list[str]]]) -> list[CliResult]:
    engine = create_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            procs = [_start(cli, *args) for cli, args in commands]
            return [_finish(p) for p in procs]
        with engine.connect() as holder, engine.connect() as watcher:
            watcher.execution_options(isolation_level="AUTOCOMMIT")
            holder.execute(text("SELECT id FROM users WHERE role = 'admin' FOR UPDATE"))
            procs = [_start(cli, *args) for cli, args in commands]
            try:
                _blocked(watcher, len(procs), procs)
            except BaseException:
                for proc in procs:
                    proc.kill()
                    proc.communicate()
                raise
            holder.rollback()
        return [_finish(p) for p in procs]
    finally:
        engine.dispose()


def test_eight_admins_demoting_and_disabling_each_other_leave_an_admin(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    emails = [ADMIN_EMAIL] + [f"admin{i}@example.com" for i in range(1, ADMINS)]
    for email in emails[1:]:
        register(cli, email, "admin")
    callers = [cli] + [as_user(cli, token_for(cli, email)) for email in emails[1:]]
    # Each admin removes the next one: even ones demote, odd ones disable.
    commands = []
    for i, caller in enumerate(callers):
        target = emails[(i + 1) % ADMINS]
        args = ["user", "set-role", target, "viewer"] if i % 2 == 0 else ["user", "disable", target]
        commands.append((caller, [*args, "-o", "json"]))

    results = _run_all(url, commands)

    codes = [r.exit_code for r in results]
    # 6: the last admin; 5: the caller was demoted first; 4: the caller was disabled first
    # (its sessions revoked). Whichever order the database chose, nothing else.
    reasons = {
        6: ("is the last active admin",),
        5: ("no longer an active admin", "does not allow this"),
        4: ("session",),
    }
    assert set(codes) <= {0, *reasons}, [(r.exit_code, r.stderr) for r in results]
    refused = [r for r in results if r.exit_code != 0]
    assert refused, "all 8 removals succeeded"
    for result in refused:
        assert any(reason in result.stderr for reason in reasons[result.exit_code]), result.stderr
    admins = query(url, "SELECT email FROM users WHERE role = 'admin' AND active")
    assert len(admins) >= 1
    # Every success removed exactly one admin; every refusal changed nothing.
    assert len(admins) == ADMINS - codes.count(0)
