"""Issue 18, "Files": profile names cannot point outside assetctl's directories, token files
are never written or read through a symlink and are 0600 from their first byte, and SQLite's
`file:` URI form works as SQLAlchemy documents it (with `uri=true`) or is refused."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ASSETCTL_BIN, NO_IP_LOOKUP, Cli

FILE_STORAGE = {"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file", **NO_IP_LOOKUP}


def _login(
    cli: Cli, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`auth login` as the bootstrap admin through the installed entry point, umask 000
    (a careless shell): the token file must still be private."""
    return subprocess.run(
        [str(ASSETCTL_BIN), *extra, "auth", "login", "--email", ADMIN_EMAIL, "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env={**cli.env, **FILE_STORAGE, **(env or {})},
        umask=0o000,
        timeout=60,
        check=False,
    )


def _tokens_dir(cli: Cli) -> Path:
    return Path(cli.env["XDG_DATA_HOME"]) / "assetctl" / "tokens"


@pytest.mark.parametrize("how", ["flag", "env", "defined-in-config"])
def test_a_profile_name_with_a_path_in_it_is_refused(
    sqlite_cli: Cli, tmp_path: Path, how: str
) -> None:
    name = f"../../../../{tmp_path.relative_to('/')}/x/pwned"
    extra: tuple[str, ...] = ("--profile", name) if how != "env" else ()
    env = {"ASSETCTL_PROFILE": name} if how == "env" else {}
    if how == "defined-in-config":
        config = Path(sqlite_cli.env["XDG_CONFIG_HOME"]) / "assetctl" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'[profiles."{name}"]\nlist_limit = 5\n')
    result = _login(sqlite_cli, *extra, env=env)
    assert result.returncode == 2, result.stderr
    assert f"error: profile name {name!r} is not valid" in result.stderr
    assert "letters, digits" in result.stderr
    assert not (tmp_path / "x").exists()
    assert not _tokens_dir(sqlite_cli).exists()


def test_the_token_file_is_private_from_the_start_even_under_umask_000(sqlite_cli: Cli) -> None:
    result = _login(sqlite_cli)
    assert result.returncode == 0, result.stderr
    path = _tokens_dir(sqlite_cli) / "default.jwt"
    info = os.lstat(path)
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["default.jwt"]  # no temp file left
    whoami = sqlite_cli.sub("auth", "whoami", env=FILE_STORAGE)
    assert whoami.exit_code == 0 and ADMIN_EMAIL in whoami.stdout


def test_the_token_file_is_never_written_through_a_symlink(sqlite_cli: Cli, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    tokens = _tokens_dir(sqlite_cli)
    tokens.mkdir(parents=True, mode=0o700)
    (tokens / "default.jwt").symlink_to(victim)
    result = _login(sqlite_cli)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644  # not chmodded either
    path = tokens / "default.jwt"
    assert not path.is_symlink() and stat.S_IMODE(os.lstat(path).st_mode) == 0o600


def test_a_symlinked_token_file_is_not_read(sqlite_cli: Cli, tmp_path: Path) -> None:
    assert _login(sqlite_cli).returncode == 0
    path = _tokens_dir(sqlite_cli) / "default.jwt"
    elsewhere = tmp_path / "planted.jwt"
    path.rename(elsewhere)
    path.symlink_to(elsewhere)
    result = sqlite_cli("auth", "whoami", env=FILE_STORAGE)
    assert result.exit_code == 4
    assert "cannot be read safely" in result.stderr


def test_a_token_directory_that_is_a_symlink_is_refused(sqlite_cli: Cli, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tokens = _tokens_dir(sqlite_cli)
    tokens.parent.mkdir(parents=True)
    tokens.symlink_to(elsewhere)
    result = _login(sqlite_cli)
    assert result.returncode == 2, result.stderr
    assert "is not a directory of yours" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_sqlite_file_uri_without_uri_true_is_refused(
    bare_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = bare_cli("db", "upgrade", env={"ASSETCTL_DATABASE_URL": "sqlite:///file:inv.db"})
    assert result.exit_code == 2
    assert "needs ?uri=true" in result.stderr
    assert list(work.iterdir()) == []  # no `file:` directory, no database


def test_a_sqlite_file_uri_with_uri_true_works(
    bare_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new" / "dir" / "inv.db"
    env = {"ASSETCTL_DATABASE_URL": f"sqlite:///file:{path}?uri=true"}
    monkeypatch.chdir(tmp_path)
    bare_cli.ok("db", "upgrade", env=env)
    assert path.is_file()
    assert not any(p.name.startswith("file:") for p in tmp_path.iterdir())
    assert bare_cli.ok("db", "current", env=env).stdout.strip() != "none"
