"""Issue 18, "Secrets in errors": no error path prints SQL or its parameters (new password
hashes, session ids, tokens), and a read-only or full database is exit 7 in one sentence
naming what is missing. Every failing run of the suite is also checked for hashes, tokens
and session ids by `conftest.check_error_output`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from . import conftest
from .conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    NO_IP_LOOKUP,
    Cli,
    CliResult,
    _pg_admin,
    add_args,
    check_error_output,
)

ONLY_POSTGRES = pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
NEW_PASSWORD = "a brand new passphrase"


def _one_sentence(result: CliResult, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and all(n in lines[0] for n in needles), lines
    assert len(lines) <= 2 and all(line.startswith(("error: ", "hint: ")) for line in lines)
    for secret in ("$argon2", "[SQL", "[parameters", "INSERT", "UPDATE ", "Traceback"):
        assert secret not in result.stderr


@pytest.fixture
def pg_role(cli: Cli) -> Iterator[tuple[str, str]]:
    """A new PostgreSQL login (name, URL for it) that may connect and read the tables."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    name = f"assetctl_ro_{uuid.uuid4().hex[:8]}"
    database = make_url(url).database
    admin = _pg_admin()
    statements = [
        f'CREATE ROLE "{name}" LOGIN',
        f'GRANT CONNECT ON DATABASE "{database}" TO "{name}"',
    ]
    for sql in statements:
        admin.cursor().execute(sql)
    admin.close()
    try:
        yield name, make_url(url).set(username=name).render_as_string(False)
    finally:
        _in_database(url, f'DROP OWNED BY "{name}"')
        admin = _pg_admin()
        admin.cursor().execute(f'DROP ROLE "{name}"')
        admin.close()


def _in_database(url: str, *statements: str) -> None:
    import psycopg2

    conn = psycopg2.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    conn.autocommit = True
    for sql in statements:
        conn.cursor().execute(sql)
    conn.close()


@ONLY_POSTGRES
def test_a_login_without_write_privileges_is_exit_5_and_leaks_nothing(
    cli: Cli, pg_role: tuple[str, str]
) -> None:
    role, ro_url = pg_role
    _in_database(
        cli.env["ASSETCTL_DATABASE_URL"],
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"',
    )
    env = {"ASSETCTL_DATABASE_URL": ro_url}
    passwd = cli.sub("auth", "passwd", "--password-stdin",
                     input=f"{ADMIN_PASSWORD}\n{NEW_PASSWORD}\n", env=env)  # fmt: skip
    # A missing privilege is the database refusing this login (exit 5, see test_db_roles).
    _one_sentence(passwd, 5, "the database refused: your login may not")
    login_env = {**env, "ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file", **NO_IP_LOOKUP}
    login = cli.sub("auth", "login", "--email", ADMIN_EMAIL, "--password-stdin",
                    input=ADMIN_PASSWORD + "\n", env=login_env)  # fmt: skip
    _one_sentence(login, 5, "the database refused: your login may not")
    # Nothing changed: the old password still works through the writable login.
    cli.ok("auth", "login", "--email", ADMIN_EMAIL, "--password-stdin",
           input=ADMIN_PASSWORD + "\n", env={"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file",
                                             **NO_IP_LOOKUP})  # fmt: skip


@ONLY_POSTGRES
def test_a_read_only_database_is_exit_7(cli: Cli, pg_role: tuple[str, str]) -> None:
    role, ro_url = pg_role
    _in_database(
        cli.env["ASSETCTL_DATABASE_URL"],
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        # A member of the owner role may use every definer function (trusted, like the
        # deployment's own login): what stops the write is the read-only setting alone.
        f'GRANT "{conftest.ROLE_PREFIX}_owner" TO "{role}"',
        f'ALTER ROLE "{role}" SET default_transaction_read_only = on',
    )
    # Sessions are bound to the login they were opened over: log in over this one (which
    # writes a session row and a login event, and so meets the read-only setting).
    result = cli.sub("auth", "login", "--email", ADMIN_EMAIL, "--password-stdin",
                     input=ADMIN_PASSWORD + "\n",
                     env={"ASSETCTL_DATABASE_URL": ro_url, "ASSETCTL_TOKEN": "",
                          "ASSETCTL_AUTH_STORAGE": "file", **NO_IP_LOOKUP})  # fmt: skip
    _one_sentence(result, 7, "the database is read-only")
    assert cli.ok("asset", "list", "-o", "json").json()["items"] == []


def test_a_read_only_sqlite_file_is_exit_7(sqlite_cli: Cli) -> None:
    path = sqlite_cli.env["ASSETCTL_DATABASE_URL"].removeprefix("sqlite:///")
    env = {"ASSETCTL_DATABASE_URL": f"sqlite:///file:{path}?mode=ro&uri=true"}
    # Reading through the URI form works ...
    assert sqlite_cli.ok("asset", "list", "-o", "json", env=env).json()["items"] == []
    # ... writing is one sentence naming the file, not an INSERT with its values.
    result = sqlite_cli.sub(*add_args("LAP-1"), env=env)
    _one_sentence(result, 7, "the database is read-only", path)
    assert sqlite_cli.ok("asset", "list", "-o", "json").json()["items"] == []


def test_a_database_bug_prints_its_class_and_sqlstate_but_no_sql_or_values(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    import assetctl.core.assets.commands

    def buggy(session: object, *_args: object, **_kwargs: object) -> None:
        # Built at run time: the traceback quotes this source line.
        secret = "$argon" + "2id$v=19$m=65536,t=3,p=4$c2VjcmV0$aGFzaA"
        sql = text("SELECT id FROM no_such_table WHERE secret = :p")
        session.execute(sql, {"p": secret})  # type: ignore[attr-defined]

    monkeypatch.setattr(assetctl.core.assets.commands, "get_asset", buggy)
    result = cli("asset", "show", "LAP-1")
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: unexpected internal error: database error ")
    assert "argon2" not in result.stderr and "no_such_table" not in result.stderr
    debug = cli("--debug", "asset", "show", "LAP-1")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr
    # --debug shows the traceback by design; SQLAlchemy's part of it never the parameters.
    assert "[parameters:" not in debug.stderr and "[SQL parameters hidden" in debug.stderr


def test_the_suites_leak_check_catches_hashes_tokens_and_session_ids(tmp_path: Path) -> None:
    """`check_error_output` guards every failing run; prove it can fail."""
    for leak in ("$argon2id$v=19$m=65536$abc", "[parameters: ('x',)]", "\n[SQL: INSERT",
                 "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"):  # fmt: skip
        with pytest.raises(AssertionError):
            check_error_output(CliResult(7, "", f"error: x {leak}"), {}, [])
    check_error_output(CliResult(0, "", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"), {}, [])


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (needs root, as in CI's container), unmounted afterwards."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                             capture_output=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"x" * 4096)
        except OSError:
            pass
    return filler


def test_a_full_disk_under_the_sqlite_file_is_exit_7(sqlite_cli: Cli, full_disk: Path) -> None:
    import shutil

    source = sqlite_cli.env["ASSETCTL_DATABASE_URL"].removeprefix("sqlite:///")
    path = full_disk / "assetctl.db"
    shutil.copy(source, path)
    env = {"ASSETCTL_DATABASE_URL": f"sqlite:///{path}"}
    filler = _fill(full_disk)
    result = sqlite_cli.sub(*add_args("LAP-1", notes="n" * 10_000), env=env)
    _one_sentence(result, 7, "no space left to write SQLite file", str(path))
    filler.unlink()
    assert sqlite_cli.ok("asset", "list", "-o", "json", env=env).json()["items"] == []
