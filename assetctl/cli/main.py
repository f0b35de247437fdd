"""The `assetctl` entry point: the root Typer app, global options and the single error
boundary that maps every failure to one line on stderr and a documented exit code."""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, NoReturn

import typer

from assetctl import __version__
from assetctl.cli.lazy import Lazy, LazyGroup
from assetctl.errors import AssetctlError, ExitStatus, InvalidInputError

# The variable the completion script sets when it asks `assetctl` for candidates (click's
# convention); `assetctl completion SHELL` prints that script.
COMPLETE_VAR = "_ASSETCTL_COMPLETE"

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (an empty listing is success)
  1  unexpected internal error (a bug; rerun with --debug)
  2  usage error or invalid input
  3  not found
  4  not authenticated
  5  permission denied
  6  conflict (duplicate tag or serial, stale version, invalid state change)
  7  a required service is unavailable (database unreachable or not migrated,
     vision-model server)
  130 interrupted
  141 the reader of stdout went away (`assetctl asset list | head -1`)"""

app = typer.Typer(
    name="assetctl",
    help="Manage company IT assets (laptops, monitors, phones) from the command line.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    cls=LazyGroup,
)
# Subcommands, in the order `--help` lists them; each module is imported only when used.
LazyGroup.registry = {
    "init": Lazy("assetctl.cli.setup_cmd", "init", "Create the config file and the database."),
    "asset": Lazy(
        "assetctl.cli.asset",
        "app",
        "Add, find, change and retire assets.",
        # asset import / export / register
        extends=("assetctl.cli.asset_io", "assetctl.cli.asset_register"),
    ),
    "auth": Lazy("assetctl.cli.auth", "app", "Log in and out, register users, see your session."),
    "alerts": Lazy("assetctl.cli.alerts", "app", "Security alerts: logins from new locations."),
    "user": Lazy("assetctl.cli.users", "app", "Manage users (admin only)."),
    "policy": Lazy(
        "assetctl.cli.policy_cmd", "app", "Security policy kept in the database (admin only)."
    ),
    "describe": Lazy(
        "assetctl.cli.describe", "describe", "Describe assets from photos with a vision model."
    ),
    "label": Lazy(
        "assetctl.cli.label", "label", "Print asset labels with QR codes (PDF, PNG, SVG, ZPL)."
    ),
    "audit": Lazy("assetctl.cli.audit", "app", "Physical audits with a barcode scanner."),
    "report": Lazy(
        "assetctl.cli.report", "app", "Reports for cron and CI: warranty, summary, unaudited."
    ),
    "cache": Lazy("assetctl.cli.cache_cmd", "app", "Inspect and clear the Redis listing cache."),
    "config": Lazy("assetctl.cli.config_cmd", "app", "Inspect configuration."),
    "db": Lazy("assetctl.cli.db_cmd", "app", "Database schema migrations."),
    "completion": Lazy(
        "assetctl.cli.completion_cmd",
        "completion",
        "Print the shell completion script (bash, zsh or fish).",
    ),
    "doctor": Lazy(
        "assetctl.cli.setup_cmd", "doctor", "Check configuration, database and services."
    ),
}


def _version(value: bool) -> None:
    if value:
        print(f"assetctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", metavar="NAME", help="Config profile to use [env: ASSETCTL_PROFILE]."
        ),
    ] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="Never use colour.")] = False,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="Print only data and errors.")
    ] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Log more detail.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    from assetctl.cli.state import AppState

    state = ctx.obj if isinstance(ctx.obj, AppState) else AppState.create()
    state.factory.profile, state.io.no_color, state.io.quiet = profile, no_color, quiet
    state.verbose, state.debug = verbose or debug, debug
    ctx.obj = state
    from assetctl.cli import logs

    logs.configure(state.io.err, quiet=quiet, verbose=state.verbose, debug=debug)


GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--debug", "--no-color"})


def _hoist_global_options(args: list[str], command: Any) -> list[str]:
    """Let global flags follow the subcommand too (`assetctl asset list -q`), the way people
    type them. A token is moved only where it cannot be the value of the command's own
    option (`--notes -q` keeps "-q" as the note)."""
    if not any(a in GLOBAL_FLAGS or a == "--profile" for a in args[1:]):
        return args
    from typer.core import TyperOption

    head: list[str] = []
    rest = list(args)
    while rest and rest[0].startswith("-"):  # options before the subcommand stay put
        head.append(rest.pop(0))
        if head[-1] == "--profile" and rest:
            head.append(rest.pop(0))
    node, path = command, []
    while rest and hasattr(node, "get_command"):
        child = node.get_command(None, rest[0])
        if child is None:
            return args
        node = child
        path.append(rest.pop(0))
    own: set[str] = set()
    takes_value: set[str] = set()
    for param in getattr(node, "params", []):
        if isinstance(param, TyperOption):
            names = {*param.opts, *param.secondary_opts}
            own |= names
            if not param.is_flag and not param.count:
                takes_value |= names
    hoisted: list[str] = []
    kept: list[str] = []
    remaining = iter(rest)
    for arg in remaining:
        if arg == "--":
            kept.append(arg)
            kept.extend(remaining)
            break
        if arg in takes_value:
            kept.append(arg)
            kept.append(next(remaining, ""))
        elif arg in GLOBAL_FLAGS and arg not in own:
            hoisted.append(arg)
        elif arg == "--profile" and arg not in own:
            hoisted += [arg, next(remaining, "")]
        else:
            kept.append(arg)
    return [*head, *hoisted, *path, *kept]


def _wants_json(argv: Sequence[str]) -> bool:
    for i, arg in enumerate(argv):
        if arg in ("-o", "--output") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--output="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-o") and len(arg) > 2:
            value = arg[2:]
        else:
            continue
        if value in ("json", "jsonl"):
            return True
    return False


def _report(
    stderr: Any, *, code: int, kind: str, message: str, hint: str | None, as_json: bool
) -> None:
    if as_json:
        import json

        payload = {"code": code, "type": kind, "message": message}
        if hint:
            payload["hint"] = hint
        print(json.dumps({"error": payload}), file=stderr)  # ASCII: escapes everything
        return
    from assetctl.json_values import visible_lines

    # Messages quote what users and files gave us: never let that drive the terminal.
    print(visible_lines(f"error: {message}"), file=stderr)
    if hint:
        print(visible_lines(f"hint: {hint}"), file=stderr)


def _check_utf8(args: Sequence[str], env: Mapping[str, str]) -> None:
    """Refuse arguments and ASSETCTL_* values that are not UTF-8 (Python hands them over with
    surrogates, which the database driver and every output stream reject later). A file name
    may be any bytes on POSIX, so an argument naming an existing path is let through."""
    for position, arg in enumerate(args, 1):
        if not _is_utf8(arg) and not os.path.lexists(arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise InvalidInputError(
                f"argument {position} ('{shown}') is not valid UTF-8",
                hint="pass text as UTF-8 (check the terminal's or the script's encoding)",
            )
    for name, value in env.items():
        if name.startswith("ASSETCTL_") and not _is_utf8(value):
            # The value is not shown: it may be a token or a URL with a password.
            raise InvalidInputError(
                f"environment variable {name} is not valid UTF-8",
                hint=f"set {name} to UTF-8 text",
            )


def _prepare(args: Sequence[str], env: Mapping[str, str]) -> None:
    """Checks and set-up before the command line is parsed."""
    _check_utf8(args, env)
    if COMPLETE_VAR in os.environ:  # the completion script asking for candidates
        from assetctl.cli.completion_cmd import register_shells

        register_shells()


def _print_version(stdout: Any, stderr: Any) -> int:
    # Answered before the command tree is built: scripts call this in loops.
    try:
        print(f"assetctl {__version__}", file=stdout, flush=True)
    except OSError as exc:
        return _write_failed(stderr, exc, as_json=False)
    return int(ExitStatus.SUCCESS)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# A write that failed for want of space (the disk, a quota, `ulimit -f`), not for a bug.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _write_failed(stderr: Any, exc: OSError, *, as_json: bool) -> int:
    """Exit 7 for output that could not be written (`assetctl asset list > /dev/full`)."""
    # What is still buffered for stdout must not fail again when the interpreter exits.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (tests)
        pass
    where = f" {exc.filename}" if exc.filename else " the output"
    _report(
        stderr,
        code=int(ExitStatus.UNAVAILABLE),
        kind="unavailable",
        message=f"cannot write{where}: {exc.strerror or exc}",
        hint="free some space where stdout (or the file named) goes, or write elsewhere",
        as_json=as_json,
    )
    return int(ExitStatus.UNAVAILABLE)


@functools.cache
def _root_command() -> Any:
    """The click command tree, built once per process (subcommands are built lazily and kept
    on it), so repeated in-process runs do not rebuild it."""
    return typer.main.get_command(app)


def _unexpected(err: Any, exc: Exception, *, debug: bool, as_json: bool) -> int:
    """An exception no command turned into an AssetctlError: a full disk (7), a database
    refusal outside a unit of work (5), else a bug (1)."""
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return _write_failed(err, exc, as_json=as_json)
    from assetctl.db.refusals import refusal

    refused = refusal(exc)
    if refused is not None:
        _report(
            err,
            code=int(refused.exit_status),
            kind=refused.kind,
            message=refused.message,
            hint=refused.hint,
            as_json=as_json,
        )
        return int(refused.exit_status)
    if debug:
        import traceback

        traceback.print_exc(file=err)
    from assetctl.db.failures import bug_summary

    # A database error's text quotes SQL and may quote values: never print it.
    what = bug_summary(exc) or f"{type(exc).__name__}: {exc}"
    _report(
        err,
        code=int(ExitStatus.ERROR),
        kind="internal",
        message=f"unexpected internal error: {what}",
        hint=None if debug else "this is a bug; rerun with --debug to see the traceback",
        as_json=as_json,
    )
    return int(ExitStatus.ERROR)


def run(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: Any = None,
    stderr: Any = None,
) -> int:
    """Run one command and return its exit status. Every error is turned into a status here."""
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer.exceptions import Abort

    args = list(sys.argv[1:] if argv is None else argv)
    err = stderr or sys.stderr
    if args == ["--version"]:
        return _print_version(stdout or sys.stdout, err)
    from assetctl.cli.state import AppState

    state = AppState.create(env, stdout, stderr)
    as_json = _wants_json(args)
    debug = "--debug" in args
    command = _root_command()
    try:
        _prepare(args, state.factory.env)
        args = _hoist_global_options(args, command)
        result = command.main(args=args, prog_name="assetctl", standalone_mode=False, obj=state)
        state.io.out.flush()  # here, where a full disk is still ours to report
        state.after_command()
    except AssetctlError as exc:
        state.after_command()
        if debug:
            import traceback

            traceback.print_exc(file=err)
        _report(
            err,
            code=int(exc.exit_status),
            kind=exc.kind,
            message=exc.message,
            hint=exc.hint,
            as_json=as_json,
        )
        return int(exc.exit_status)
    except NoArgsIsHelpError as exc:
        print(exc.format_message(), file=err)
        return int(ExitStatus.USAGE)
    except ClickException as exc:
        context = getattr(exc, "ctx", None)
        path = context.command_path if context is not None else "assetctl"
        _report(
            err,
            code=int(ExitStatus.USAGE),
            kind="usage",
            message=exc.format_message(),
            hint=f"see `{path} --help`",
            as_json=as_json,
        )
        return int(ExitStatus.USAGE)
    except (Abort, KeyboardInterrupt):
        print("\ninterrupted", file=err)
        return int(ExitStatus.INTERRUPTED)
    except SystemExit:
        from typer._click.utils import PacifyFlushWrapper

        if isinstance(sys.stdout, PacifyFlushWrapper):
            # Typer met EPIPE on stdout and exits 1; it is the reader that went away.
            return 141
        raise
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly like other Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the one place every bug is caught
        return _unexpected(err, exc, debug=debug, as_json=as_json)
    if result == ExitStatus.INTERRUPTED and not state.explained_exit:
        # Typer turns Ctrl-C inside a command into a plain exit status 130: say why.
        print("\ninterrupted", file=err)
    return result if isinstance(result, int) else int(ExitStatus.SUCCESS)


def main() -> NoReturn:
    """Console-script entry point."""
    sys.exit(run())
