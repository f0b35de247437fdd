"""Global options are accepted after the subcommand too, as people type them, without ever
stealing the value of the command's own option."""

from __future__ import annotations

from tests.conftest import Cli, add_args


def test_quiet_after_the_command_silences_messages(cli: Cli) -> None:
    result = cli.ok(*add_args("LAP-1"), "-q", "-o", "json")
    assert result.stderr == ""
    assert result.json()["tag"] == "LAP-1"
    noisy = cli.ok("asset", "update", "LAP-1", "--name", "Renamed", "-o", "json")
    assert "Updated asset LAP-1" in noisy.stderr


def test_a_flag_looking_value_stays_the_value(cli: Cli) -> None:
    cli.ok(*add_args("LAP-1"))
    result = cli.ok("asset", "update", "LAP-1", "--notes", "-q", "-o", "json")
    assert result.json()["notes"] == "-q"
    assert "Updated asset LAP-1" in result.stderr  # -q was the note, not --quiet


def test_profile_after_the_command(cli: Cli) -> None:
    result = cli("asset", "list", "--profile", "nosuch")
    assert result.exit_code == 2
    assert "profile 'nosuch' is not defined" in result.stderr


def test_debug_after_the_command_shows_the_traceback(cli: Cli) -> None:
    result = cli("asset", "show", "NOPE", "--debug")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr
    plain = cli("asset", "show", "NOPE")
    assert plain.exit_code == 3
    assert "Traceback" not in plain.stderr


def test_double_dash_ends_option_processing(cli: Cli) -> None:
    cli.ok(*add_args("-q"))  # a tag that looks like a flag, after --tag
    result = cli("asset", "show", "-o", "json", "--", "-q")
    assert result.exit_code == 0, result.stderr
    assert result.json()["tag"] == "-q"


def test_log_records_follow_the_global_flags() -> None:
    import io
    import logging

    from assetctl.cli import logs

    log = logging.getLogger("assetctl.security")
    seen = {}
    for flags in ("quiet", "default", "verbose"):
        stream = io.StringIO()
        logs.configure(stream, quiet=flags == "quiet", verbose=flags == "verbose", debug=False)
        log.warning("event=security.login_alert kind=new_ip")
        log.info("looked up the public IP")
        seen[flags] = stream.getvalue()
    assert seen["quiet"] == ""
    assert (
        seen["default"]
        == "assetctl: WARNING assetctl.security: event=security.login_alert kind=new_ip\n"
    )
    assert "INFO assetctl.security: looked up the public IP" in seen["verbose"]
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_assetctl_handler", False)]
    assert len(handlers) == 1  # reconfiguring replaces, never stacks
