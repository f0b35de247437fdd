"""`assetctl completion bash|zsh|fish`: print the shell completion script, as `gh
completion -s bash` and `kubectl completion bash` do, for the user to source or install."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

PROG_NAME = "assetctl"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Annotated[Shell, typer.Argument(metavar="SHELL", help="bash, zsh or fish.")],
) -> None:
    """Print the shell completion script. Load it now with `source <(assetctl completion
    bash)`, or install it: bash `assetctl completion bash >
    ~/.local/share/bash-completion/completions/assetctl`, zsh `assetctl completion zsh >
    "${fpath[1]}/_assetctl"`, fish `assetctl completion fish >
    ~/.config/fish/completions/assetctl.fish`."""
    from typer._completion_shared import get_completion_script

    from assetctl.cli.main import COMPLETE_VAR

    print(get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value))


def register_shells() -> None:
    """Let the root command answer the script's completion requests (Typer registers its
    shell handlers only for apps with `add_completion`, which would also add the
    `--install-completion` options this command replaces)."""
    from typer._completion_classes import completion_init

    completion_init()
