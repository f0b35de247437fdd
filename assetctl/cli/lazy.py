"""A command group that imports a subcommand's module only when that subcommand runs.

Typer builds every command and parameter up front; with a dozen command modules that alone
made `assetctl --help` a third slower than a bare Typer app. Here the root group knows each
subcommand by name and one-line help, and imports and builds it on first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup


@dataclass(frozen=True)
class Lazy:
    """Where a subcommand lives: `module.attr` is a Typer app (a group) or a function (a
    single command). `extends` are modules that add commands to that app when imported."""

    module: str
    attr: str
    help: str
    extends: tuple[str, ...] = ()


def name_values(command: Any) -> None:
    """Give every option and argument without a metavar one that says what the value is:
    `N` for whole numbers, else its name (`--cursor CURSOR`, `FILE`), as gh and kubectl show
    them; Typer's default is the type (`<str>`, `<int range>`). Choices keep their list."""
    from typer._click.types import IntParamType
    from typer._types import TyperChoice

    for param in getattr(command, "params", []):
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        if isinstance(param.type, TyperChoice) or getattr(param, "count", False):
            continue
        name = "N" if isinstance(param.type, IntParamType) else str(param.name).upper()
        param.metavar = name + ("..." if param.nargs == -1 else "")
    for sub in getattr(command, "commands", {}).values():
        name_values(sub)


class LazyGroup(TyperGroup):
    registry: dict[str, Lazy] = {}  # noqa: RUF012 - set once by the root app's module

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(name for name in self.registry if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self.registry:
            return self.commands.get(cmd_name)
        spec = self.registry[cmd_name]
        target = getattr(importlib.import_module(spec.module), spec.attr)
        for module in spec.extends:
            importlib.import_module(module)
        if not isinstance(target, typer.Typer):
            single = typer.Typer(add_completion=False)
            single.command(name=cmd_name)(target)
            target = single
        # Plain help like the root's: Rich-formatted help costs ~80 ms per --help.
        target.rich_markup_mode = None
        # Completion is the root's `assetctl completion SHELL`, not an option of each group.
        target._add_completion = False
        command = _build(target)
        command.name = cmd_name
        name_values(command)
        self.commands[cmd_name] = command
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        # Typer suggests close matches among the commands built so far, which at the root
        # is none: suggest among the registry's names instead, in Typer's own words.
        from typer._click.exceptions import UsageError

        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            from difflib import get_close_matches

            matches = get_close_matches(args[0], list(self.registry)) if args else []
            if matches and "Did you mean" not in exc.message:
                suggestions = ", ".join(f"{m!r}" for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, spec.help) for name, spec in self.registry.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class LazySubGroup(TyperGroup):
    """A command group (`asset`, `user`, ...) whose subcommands are built on first use:
    Typer would build all of them, every option through `eval`ed annotations, before
    running one; for `asset show` that was about a fifth of the command's own CPU time.
    `--help` and completion still list them all (building each as they are listed)."""

    pending: dict[str, Any]

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(name for name in self.pending if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        info = self.pending.pop(cmd_name, None)
        if info is not None:
            from typer.main import get_command_from_info

            command = get_command_from_info(
                info, pretty_exceptions_short=True, rich_markup_mode=None
            )
            name_values(command)
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0] not in self.pending:
            # A typo (or a name the context normalises): Typer suggests close matches from
            # the built commands, so build them all (only on this path).
            for name in list(self.pending):
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


def _build(target: typer.Typer) -> Any:
    """The click command of a Typer app: a group of plain commands (no nested groups, no
    group class of its own) becomes a `LazySubGroup`; anything else is built by Typer."""
    import copy

    from typer.main import get_command_name, get_group_from_info
    from typer.models import DefaultPlaceholder, TyperInfo

    own_class = not isinstance(target.info.cls, DefaultPlaceholder | None)
    if len(target.registered_commands) < 2 or target.registered_groups or own_class:
        return typer.main.get_command(target)
    pending = {
        info.name or get_command_name(info.callback.__name__): info
        for info in target.registered_commands
        if info.callback is not None
    }
    # The same app without its commands: Typer builds the group (callback, help, settings)
    # and the commands wait in `pending`.
    shell = copy.copy(target)
    shell.registered_commands = []
    group = get_group_from_info(
        TyperInfo(shell, cls=LazySubGroup),
        pretty_exceptions_short=target.pretty_exceptions_short,
        rich_markup_mode=None,
        suggest_commands=target.suggest_commands,
    )
    assert isinstance(group, LazySubGroup)
    group.pending = pending
    return group
