"""Issue 18, "Terminal and output safety": stored text is other people's data.

Every input path applies the same field rules (CLI flags, both import paths, a model's reply
in `describe --save`, user names; values from the environment are stored escaped), and every
renderer for people shows control, bidi and other invisible characters as visible escapes on
a terminal and in plain text, while JSON keeps the exact values.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from pathlib import Path

import pytest

from .asset_fixtures import connect, insert_assets
from .auth_helpers import PASSWORD, query, register
from .conftest import ASSETCTL_BIN, NO_IP_LOOKUP, Cli, add_args, read_terminal
from .vlm_fakes import FakeOllama, make_photo

# The payload: set the window title, clear the screen (and a bidi override).
EVIL = "hi \x1b]0;OWNED\x07\x1b[2J \u202eevil"
# Bytes a terminal must never receive from data: ESC, BEL, the C1 CSI, the bidi override.
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\u202e")


def _clean(text: str) -> None:
    for ch in FORBIDDEN:
        assert ch not in text, (ch, text)


def _assets(url: str) -> int:
    return len(query(url, "SELECT id FROM assets"))


def _on_terminal(cli: Cli, *args: str) -> tuple[int, str, str]:
    """The installed entry point with stdout on a pseudo-terminal: (code, terminal, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**cli.env, "TERM": "xterm-256color", "COLUMNS": "200"},
    )
    os.close(slave)
    seen = read_terminal(master)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=60), seen.decode(), stderr


# --- input: one set of field rules on every path --------------------------------------------


@pytest.mark.parametrize("update", [False, True], ids=["fast-path", "checked-path"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_import_refuses_control_characters_in_a_description(
    cli: Cli, tmp_path: Path, fmt: str, update: bool
) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    row = {"tag": "LAP-1", "name": "Laptop", "category": "laptop", "description": EVIL}
    path = tmp_path / f"evil.{fmt}"
    if fmt == "jsonl":
        path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    else:
        path.write_text(
            "tag,name,category,description\n" + ",".join(row.values()) + "\n", encoding="utf-8"
        )
    result = cli("asset", "import", str(path), *(["--update"] if update else []))
    assert result.exit_code == 2, result.stderr
    line = "line 1" if fmt == "jsonl" else "line 2"  # CSV's line 1 is the header
    assert f"{line}, column description" in result.stderr, result.stderr
    assert "description contains control characters" in result.stderr
    _clean(result.stderr)
    assert _assets(url) == 0


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ({"provider": "ollama", "model": "m", "at": "2026-01-02T03:04:05Z", "by": "x"}, "source"),
        ({"provider": "ollama", "model": "m"}, "is not a description source"),
        ({"provider": 1, "model": "m", "at": "2026-01-02T03:04:05Z"}, "must be a string"),
        ({"provider": "ollama", "model": "m", "at": "yesterday"}, "is not an RFC 3339"),
        ({"provider": "o\x1b[2J", "model": "m", "at": "2026-01-02T03:04:05Z"}, "control"),
        (["not", "an", "object"], "must be a string or a number"),
    ],
)
def test_import_accepts_description_source_only_in_the_shape_describe_writes(
    cli: Cli, tmp_path: Path, source: object, reason: str
) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    row = {"tag": "LAP-1", "name": "Laptop", "category": "laptop", "description": "Grey."}
    path = tmp_path / "forged.jsonl"
    path.write_text(json.dumps({**row, "description_source": source}) + "\n")
    result = cli("asset", "import", str(path))
    assert result.exit_code == 2, result.stderr
    assert "description_source" in result.stderr and reason in result.stderr, result.stderr
    _clean(result.stderr)
    assert _assets(url) == 0


def test_import_keeps_a_genuine_description_source(cli: Cli, tmp_path: Path) -> None:
    source = {"provider": "ollama", "model": "llava", "at": "2026-01-02T03:04:05Z"}
    row = {"tag": "LAP-1", "name": "Laptop", "category": "laptop", "description": "Grey.\nOld."}
    path = tmp_path / "genuine.jsonl"
    path.write_text(json.dumps({**row, "description_source": source}) + "\n")
    cli.ok("asset", "import", str(path))
    shown = cli.ok("asset", "show", "LAP-1", "-o", "json").json()
    assert shown["description_source"] == source and shown["description"] == "Grey.\nOld."


@pytest.mark.parametrize("field", ["name", "location", "serial"])
def test_flags_refuse_control_characters(cli: Cli, field: str) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    result = cli(*add_args("LAP-1", **{field: "a\x1b[2Jb"}))
    assert result.exit_code == 2
    assert f"{field} contains control characters" in result.stderr
    _clean(result.stderr)
    assert _assets(url) == 0


def test_a_user_name_with_control_characters_is_refused(cli: Cli) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    result = cli("auth", "register", "--email", "eve@example.com", "--name", "Eve\u202eevE",
                 "--password-stdin", input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 2
    assert "name contains control characters" in result.stderr
    _clean(result.stderr)
    assert query(url, "SELECT id FROM users WHERE email = 'eve@example.com'") == []


def test_a_models_reply_with_control_characters_is_not_saved(
    cli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    cli.ok(*add_args("LAP-1"))
    cli.ok(*add_args("LAP-2"))
    photos = [make_photo(tmp_path / f"LAP-{i}.jpg", "JPEG") for i in (1, 2)]
    ollama.reply = lambda captured: FakeOllama.ok(
        EVIL if len(ollama.chat_requests()) == 1 else "A grey laptop."
    )
    env = {"ASSETCTL_VLM_PROVIDER": "ollama", "ASSETCTL_VLM_BASE_URL": ollama.url}
    result = cli("describe", *map(str, photos), "--tag-from-filename", "--save",
                 "--concurrency", "1", env=env)  # fmt: skip
    assert result.exit_code == 7, result.stderr
    assert "the model's reply was not saved: description contains control characters" in (
        result.stderr
    )
    _clean(result.stdout + result.stderr)
    saved = {
        tag: cli.ok("asset", "show", tag, "-o", "json").json()["description"]
        for tag in ("LAP-1", "LAP-2")
    }
    # One reply was refused, the other saved: a bad reply never loses the other results.
    assert set(saved.values()) == {"A grey laptop.", None}


def test_os_user_and_host_from_the_environment_are_stored_escaped(cli: Cli, tmp_path: Path) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    register(cli, "op@example.com", "operator")
    clipboard = "root\x1b]52;c;cHduZWQ=\x07"  # OSC 52: write the admin's clipboard
    env = {"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file", "USER": clipboard,
           **NO_IP_LOOKUP}  # fmt: skip
    cli.ok("auth", "login", "--email", "op@example.com", "--password-stdin",
           input=PASSWORD + "\n", env=env)  # fmt: skip
    [event] = query(url, "SELECT os_user FROM login_events WHERE email = 'op@example.com'")
    assert event["os_user"] == "root\\x1b]52;c;cHduZWQ=\\x07"


# --- output: escaped for people, exact for scripts ---------------------------------------


@pytest.fixture
def evil_asset(cli: Cli) -> Cli:
    """An asset whose stored text holds the payload (written by plain SQL or an old release:
    rendering must be safe whatever the database holds)."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    insert_assets(url, [{"tag": "LAP-1", "name": EVIL, "category": "laptop", "notes": EVIL}])
    with connect(url) as conn:
        conn.exec_driver_sql("UPDATE assets SET location = 'Z\u00fcrich\x9b31m'")
    return cli


@pytest.mark.parametrize(
    "args",
    [
        ("asset", "show", "LAP-1"),
        ("asset", "list"),
        ("asset", "show", "LAP-1", "-o", "csv"),
        ("asset", "show", "LAP-1", "-o", "tsv"),
        ("asset", "show", "LAP-1", "-o", "json"),
        ("asset", "list", "-o", "jsonl"),
        ("asset", "history", "LAP-1"),
        ("asset", "export", "-o", "csv"),
        ("asset", "export", "-o", "jsonl"),
    ],
    ids=lambda args: "-".join(args[1:]),
)
def test_a_terminal_never_receives_control_characters_from_data(
    evil_asset: Cli, args: tuple[str, ...]
) -> None:
    code, seen, stderr = _on_terminal(evil_asset, *args)
    assert code == 0, stderr
    # Our own styling (bold headers, colours) is SGR; the payload holds none.
    _clean(re.sub(r"\x1b\[[0-9;]*m", "", seen))
    assert "\\x1b]0;OWNED\\x07" in seen or "\\u001b]0;OWNED\\u0007" in seen, seen
    assert "\\u202eevil" in seen or "\\u202e" in seen


def test_plain_and_tsv_output_escape_and_json_and_csv_keep_exact_values(evil_asset: Cli) -> None:
    plain = evil_asset.ok("asset", "list").stdout
    _clean(plain)
    assert "hi \\x1b]0;OWNED\\x07\\x1b[2J \\u202eevil" in plain
    _clean(evil_asset.ok("asset", "list", "-o", "tsv").stdout)
    shown = evil_asset.ok("asset", "show", "LAP-1", "-o", "json")
    _clean(shown.stdout)  # escaped as JSON escapes ...
    assert shown.json()["name"] == EVIL  # ... yet the exact value
    assert shown.json()["location"] == "Z\u00fcrich\x9b31m"
    exported = evil_asset.ok("asset", "export", "-o", "csv").stdout
    assert EVIL in exported  # a file for other programs: the data as stored


def test_error_messages_show_control_characters_escaped(cli: Cli) -> None:
    result = cli("asset", "show", "LAP\x1b]0;OWNED\x07")
    assert result.exit_code == 3
    _clean(result.stderr)
    assert "\\x1b]0;OWNED\\x07" in result.stderr


def test_error_messages_of_the_installed_entry_point_are_escaped(cli: Cli) -> None:
    result = cli.sub("asset", "update", "NOPE\u202e1", "--location", "x")
    assert result.exit_code == 3
    _clean(result.stderr)
    assert "NOPE\\u202e1" in result.stderr


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Zürich ☃ 東京", "Zürich ☃ 東京"),  # printable text is untouched
        ("10\u202f000 Dell\xa0XPS", "10\u202f000 Dell\xa0XPS"),  # spaces stay spaces
        ("a\tb\nc\rd", "a\\tb\\nc\\rd"),
        ("\x1b[2J\x07\x7f\x9b", "\\x1b[2J\\x07\\x7f\\x9b"),  # C0, DEL, C1
        ("\u202eabc\u2066\u200b\u2028", "\\u202eabc\\u2066\\u200b\\u2028"),  # bidi, ZW, LS
        ("\ud800 \U000f0000", "\\ud800 \\U000f0000"),  # lone surrogate, private use
    ],
)
def test_visible_escapes_exactly_what_cannot_be_seen(raw: str, shown: str) -> None:
    from assetctl.json_values import json_escape_invisible, visible

    assert visible(raw) == shown
    # JSON: the same characters as JSON escapes, so the value reads back exactly.
    encoded = json_escape_invisible(json.dumps(raw, ensure_ascii=False))
    assert json.loads(encoded) == raw
    _clean(encoded)
