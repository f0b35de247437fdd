"""Issue 18, CLI polish: completion at the root, metavars that say what a value is, and the
exit codes in `--help`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .conftest import ASSETCTL_BIN, Cli, base_env


def every_command() -> Iterator[list[str]]:
    """The path of every group and command, from the command tree itself."""
    from typer._click.core import Context

    from assetctl.cli.main import _root_command

    def walk(command: Any, path: list[str], ctx: Context) -> Iterator[list[str]]:
        yield path
        if hasattr(command, "list_commands"):  # a group
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                yield from walk(sub, [*path, name], Context(sub, info_name=name, parent=ctx))

    root = _root_command()
    yield from walk(root, [], Context(root, info_name="assetctl"))


def test_help_shows_what_each_value_is_and_no_completion_options(tmp_path: Path) -> None:
    cli = Cli(base_env(tmp_path))
    paths = list(every_command())
    assert ["asset", "list"] in paths and ["completion"] in paths and len(paths) > 30
    for path in paths:
        result = cli(*path, "--help")
        assert result.exit_code == 0, (path, result.stderr)
        for typer_default in ("<str>", "<int", "<float", "<path>", "--install-completion",
                              "--show-completion"):  # fmt: skip
            assert typer_default not in result.stdout, (path, typer_default, result.stdout)
    listing = cli("asset", "list", "--help").stdout
    for shown in ("--sort FIELD[:desc]", "--limit N", "--search TEXT", "--status STATUS",
                  "--cursor CURSOR"):  # fmt: skip
        assert shown in listing, listing
    add = cli("asset", "add", "--help").stdout
    for shown in ("--tag TAG", "--purchase-date DATE", "--warranty-until DATE",
                  "--purchase-cost AMOUNT", "--notes TEXT"):  # fmt: skip
        assert shown in add, add
    assert "IMAGES..." in cli("describe", "--help").stdout
    assert "--concurrency N" in cli("describe", "--help").stdout


def test_exit_codes_in_help_include_141(tmp_path: Path) -> None:
    text = Cli(base_env(tmp_path))("--help").stdout
    codes = [line.split()[0] for line in text.split("Exit codes:")[1].splitlines() if line.strip()]
    assert [c for c in codes if c.isdigit()] == ["0", "1", "2", "3", "4", "5", "6", "7", "130",
                                                  "141"]  # fmt: skip


def test_a_mistyped_command_gets_a_suggestion_at_every_level(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    for args, typo, suggestion in ((["assett", "list"], "assett", "'asset'"),
                                   (["polcy"], "polcy", "'policy'"),
                                   (["asset", "shw", "X"], "shw", "'show'")):  # fmt: skip
        proc = subprocess.run([str(ASSETCTL_BIN), *args], env=env, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert f"No such command '{typo}'" in proc.stderr
        assert f"Did you mean {suggestion}?" in proc.stderr, proc.stderr
    nothing_close = Cli(env)("zzz")
    assert nothing_close.exit_code == 2 and "Did you mean" not in nothing_close.stderr


def _complete(env: dict[str, str], words: str, cword: int) -> list[str]:
    proc = subprocess.run(
        [str(ASSETCTL_BIN)],
        env={**env, "_ASSETCTL_COMPLETE": "complete_bash", "COMP_WORDS": words,
             "COMP_CWORD": str(cword)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_completion_scripts_and_answers(tmp_path: Path) -> None:
    cli = Cli(base_env(tmp_path))
    for shell, marker in (("bash", "complete -o default -F"), ("zsh", "#compdef assetctl"),
                          ("fish", "complete --command assetctl")):  # fmt: skip
        result = cli.sub("completion", shell)
        assert result.exit_code == 0, result.stderr
        assert marker in result.stdout and "_ASSETCTL_COMPLETE" in result.stdout
    bad = cli.sub("completion", "ksh")
    assert bad.exit_code == 2 and "'ksh'" in bad.stderr
    # What the script asks the installed entry point, answered from the lazy command tree.
    assert _complete(cli.env, "assetctl as", 1) == ["asset"]
    assert "list" in _complete(cli.env, "assetctl asset li", 2)
    assert "--sort" in _complete(cli.env, "assetctl asset list --so", 3)
    assert not (tmp_path / "data").exists()  # answering touched no database
