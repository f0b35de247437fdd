"""ZPL labels and `--printer`: what a raw printer port on 127.0.0.1 receives parses back to
one `^XA...^XZ` per label with `^CI28` and the exact QR payload; an unreachable printer or a
connection lost mid-job exits 7 naming the printer, never reporting success."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetctl.core.labels.output import Printer, parse_printer
from assetctl.core.labels.qr import parse_url_template, payload
from assetctl.core.labels.render_zpl import field
from assetctl.errors import InvalidInputError
from tests.conftest import Cli, add_args
from tests.label_helpers import RawPrinter, free_port, unhex, zpl_labels

TAGS = ["LAP-0001", "ÄÖÜ-ß-Ω-漢字", "A^XZ~JR_1"]


def _assets(cli: Cli) -> None:
    for n, tag in enumerate(TAGS):
        cli.ok(*add_args(tag, name=f"Gerät {n}", serial=f"SN{n}"))


def test_printer_receives_one_utf8_format_per_label(cli: Cli) -> None:
    _assets(cli)
    printer = RawPrinter()
    try:
        result = cli.ok("label", *TAGS, "--printer", f"127.0.0.1:{printer.port}")
    finally:
        printer.close()
    assert result.stdout == ""
    assert f"Sent 3 labels to the printer at 127.0.0.1:{printer.port}." in result.stderr
    (job,) = printer.jobs
    labels = zpl_labels(job.decode("ascii"))  # ^FH keeps the job ASCII
    assert [label["qr"] for label in labels] == TAGS
    assert all(label["utf8"] and label["level"] == "M" for label in labels)
    assert [label["texts"][0] for label in labels] == TAGS
    assert [label["texts"][1:] for label in labels] == [
        ["Gerät 0", "S/N SN0"], ["Gerät 1", "S/N SN1"], ["Gerät 2", "S/N SN2"],
    ]  # fmt: skip
    # The printer draws the symbol at whole dots per module: it must end before the text.
    import segno

    for label in labels:
        modules = segno.make_qr(label["qr"], error="m", mode="byte", boost_error=False)
        right = label["qr_x"] + modules.symbol_size(border=0)[0] * label["magnification"]
        assert right < min(label["text_x"]) < label["width"]
    # A tag spelling ZPL commands stays data: no format ends early, no command injected.
    assert job.count(b"^XA") == job.count(b"^XZ") == 3
    assert b"~JR" not in job


def test_zpl_to_stdout_and_url_payload(sqlite_cli: Cli, tmp_path: Path) -> None:
    _assets(sqlite_cli)
    env = {"ASSETCTL_LABEL_URL_TEMPLATE": "https://inv.example.com/a/{tag}?src=label"}
    result = sqlite_cli.ok("label", TAGS[1], "-o", "zpl", "--template", "zebra-2x1", env=env)
    (label,) = zpl_labels(result.stdout)
    assert (
        label["qr"]
        == "https://inv.example.com/a/%C3%84%C3%96%C3%9C-%C3%9F-%CE%A9-%E6%BC%A2%E5%AD%97?src=label"
    )
    assert "^PW406" in result.stdout  # 50.8 mm at 8 dots/mm
    # A 300 dpi printer: 12 dots/mm, and the symbol still ends before the text.
    result = sqlite_cli.ok("label", TAGS[0], "-o", "zpl", "--template", "zebra-2x1", "--dpi", "300")
    (label,) = zpl_labels(result.stdout)
    assert label["width"] == 610 and label["qr"] == TAGS[0]
    import segno

    modules = segno.make_qr(TAGS[0], error="m", mode="byte", boost_error=False)
    right = label["qr_x"] + modules.symbol_size(border=0)[0] * label["magnification"]
    assert right < min(label["text_x"])
    out = tmp_path / "l.zpl"
    sqlite_cli.ok("label", TAGS[0], "--out", str(out))  # the suffix picks zpl
    assert zpl_labels(out.read_text())[0]["qr"] == TAGS[0]


def test_unreachable_printer_exits_7_naming_host_and_port(sqlite_cli: Cli) -> None:
    _assets(sqlite_cli)
    port = free_port()
    result = sqlite_cli("label", TAGS[0], "--printer", f"127.0.0.1:{port}")
    assert result.exit_code == 7, result
    assert result.stderr.startswith(
        f"error: cannot reach the printer at 127.0.0.1:{port}: Connection refused; "
        "nothing was sent\n"
    )
    assert result.stdout == ""


def test_connection_lost_mid_job_exits_7_and_says_how_much_was_sent(sqlite_cli: Cli) -> None:
    _assets(sqlite_cli)
    printer = RawPrinter(reset_after=100, receive_buffer=4096)
    many = [TAGS[0]] * 400  # ~120 kB of ZPL: more than the socket buffers hold
    try:
        result = sqlite_cli("label", *many, "--printer", f"127.0.0.1:{printer.port}")
    finally:
        printer.close()
    assert result.exit_code == 7, result
    assert f"sending to the printer at 127.0.0.1:{printer.port} failed after " in result.stderr
    assert "the labels may be printed only in part" in result.stderr
    assert "Sent" not in result.stderr
    assert len(printer.jobs[0]) < 120_000


def test_printer_addresses() -> None:
    assert parse_printer("zebra1") == Printer("zebra1", 9100)
    assert parse_printer("10.0.0.7:6101") == Printer("10.0.0.7", 6101)
    assert parse_printer("[::1]:9100") == Printer("::1", 9100)
    assert str(parse_printer("[fe80::1]")) == "[fe80::1]:9100"
    for bad in ("", "host:", "host:0", "host:x", "[::1", "[::1]x", "a b:9100", "host:٩١"):
        with pytest.raises(InvalidInputError):
            parse_printer(bad)


def test_url_template_rules_and_quoting() -> None:
    assert parse_url_template("") == ""
    assert parse_url_template(" https://i.example.com/a/{tag} ") == "https://i.example.com/a/{tag}"
    for bad in (
        "https://i.example.com/a/",  # no {tag}
        "https://i.example.com/{tag}/{tag}",
        "https://i.example.com/{id}/{tag}",
        "https://{tag}.example.com/",
        "mailto:{tag}",
        "https://i.example.com/a b/{tag}",
        "https://i.example.com:99999/{tag}",
    ):
        with pytest.raises(ValueError):
            parse_url_template(bad)
    assert payload("A/1?x=#", "https://i/a/{tag}") == "https://i/a/A%2F1%3Fx%3D%23"
    assert payload("A/1", "") == "A/1"


def test_zpl_field_escaping_round_trips() -> None:
    text = "^XA~JR_\x00Ω漢"
    escaped = field(text)
    assert all(c not in escaped for c in "^~") and escaped.isascii()
    assert unhex(escaped).decode("utf-8") == text
