"""`assetctl label`: every QR code on every page decodes (zxing-cpp) to exactly its tag or
URL, from PNG, from PDF rendered by PDFium, and from SVG; PDFs are vector with real text;
sheets fill row by row from --start-at; bad input exits with its code and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assetctl.core.labels.templates import TEMPLATES
from tests.auth_helpers import as_user, register, token_for
from tests.conftest import ASSETCTL_BIN, Cli, add_args, run_fresh
from tests.label_helpers import (
    decode_pdf,
    decode_png,
    decode_svg,
    pdf_pages,
    pdf_text_and_objects,
)

UMLAUTS = "ÄÖÜ-ß-Ω"
CJK = "ÄÖÜ-ß-Ω-漢字"
CJK_FONT = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
URL = "https://inventory.example.com/a/{tag}"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty directory for label files (tmp_path also holds the database)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def _assets(cli: Cli, *tags: str) -> None:
    for n, tag in enumerate(tags):
        cli.ok(*add_args(tag, serial=f"SN-{n:04d}-XYZ"))


def test_pdf_sheet_fills_row_by_row_from_start_and_every_qr_decodes(
    cli: Cli, tmp_path: Path
) -> None:
    tags = [f"LAP-{n:04d}" for n in range(6)] + [UMLAUTS]
    _assets(cli, *tags)
    out = tmp_path / "sheet.pdf"
    # 7 labels from position 63 of 65: 3 on the first sheet, 4 on the second.
    result = cli.ok(
        "label", *tags, "--template", "avery-l7651", "--start-at", "63", "--out", str(out)
    )
    assert "Wrote 7 labels on 2 pages" in result.stderr
    pages = decode_pdf(out)
    assert pages == [tags[:3], tags[3:]]
    # Positions 63..65 are the last row's columns 3..5; the next sheet starts top left.
    first, second = pdf_pages(out)
    import zxingcpp

    template = TEMPLATES["avery-l7651"]
    px = 300 / 25.4
    corners = [b.position.top_left for b in zxingcpp.read_barcodes(first)]
    columns = sorted(int((c.x / px - template.left) // template.pitch_x) for c in corners)
    rows = {int((c.y / px - template.top) // template.pitch_y) for c in corners}
    assert columns == [2, 3, 4] and rows == {12}
    corners = [b.position.top_left for b in zxingcpp.read_barcodes(second)]
    assert {int((c.y / px - template.top) // template.pitch_y) for c in corners} == {0}
    # Vector: text is text (searchable), the QR codes are paths, and there is no image.
    import pypdfium2.raw as pdfium_c

    texts, kinds = pdf_text_and_objects(out)
    assert all(tag in texts[0] for tag in tags[:3]) and UMLAUTS in texts[1]
    assert "SN-0000-XYZ" in texts[0]
    assert kinds == {pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_TEXT}


def test_png_one_file_per_page_decodes_and_url_template_quotes_the_tag(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    tags = ["LAP-0001", "A/1 ß?#", UMLAUTS]
    _assets(sqlite_cli, *tags)
    env = {"ASSETCTL_LABEL_URL_TEMPLATE": URL}
    pattern = tmp_path / "label-{page}.png"
    sqlite_cli.ok("label", *tags, "--out", str(pattern), env=env)
    files = sorted(tmp_path.glob("label-*.png"))
    assert [f.name for f in files] == ["label-1.png", "label-2.png", "label-3.png"]
    assert [decode_png(f) for f in files] == [
        ["https://inventory.example.com/a/LAP-0001"],
        ["https://inventory.example.com/a/A%2F1%20%C3%9F%3F%23"],
        ["https://inventory.example.com/a/%C3%84%C3%96%C3%9C-%C3%9F-%CE%A9"],
    ]


def test_svg_is_well_formed_and_its_qr_decodes(sqlite_cli: Cli, tmp_path: Path) -> None:
    _assets(sqlite_cli, "LAP-0001", UMLAUTS)
    result = sqlite_cli.ok("label", "LAP-0001", UMLAUTS, "-o", "svg", "--template", "avery-5160")
    data = result.stdout.encode("utf-8")
    assert decode_svg(data) == ["LAP-0001", UMLAUTS]
    assert f">{UMLAUTS}</text>" in result.stdout


@pytest.mark.skipif(not os.path.exists(CJK_FONT), reason="no CJK font")
def test_non_ascii_tag_with_cjk_round_trips_in_pdf_and_png(sqlite_cli: Cli, tmp_path: Path) -> None:
    _assets(sqlite_cli, CJK)
    env = {"ASSETCTL_LABEL_FONT": CJK_FONT}
    sqlite_cli.ok("label", CJK, "--out", str(tmp_path / "l.pdf"), env=env)
    sqlite_cli.ok("label", CJK, "--out", str(tmp_path / "l.png"), env=env)
    assert decode_pdf(tmp_path / "l.pdf") == [[CJK]]
    assert decode_png(tmp_path / "l.png") == [CJK]
    texts, _kinds = pdf_text_and_objects(tmp_path / "l.pdf")
    assert CJK in texts[0]


def test_cjk_font_is_present_where_ci_runs() -> None:
    # The CJK round trip above skips without the font; CI installs it, so say so loudly.
    if os.environ.get("CI") and not os.path.exists(CJK_FONT):
        pytest.fail(f"{CJK_FONT} missing: .ci/run installs fonts-droid-fallback")


def test_characters_no_font_has_are_refused_naming_the_tag(sqlite_cli: Cli, tmp_path: Path) -> None:
    _assets(sqlite_cli, CJK)
    out = tmp_path / "l.pdf"
    result = sqlite_cli("label", CJK, "--out", str(out))
    assert result.exit_code == 2
    assert f"no label font has the characters of asset '{CJK}' (漢字)" in result.stderr
    assert "label_font" in result.stderr
    assert not out.exists()


def test_viewer_may_print_labels(cli: Cli, tmp_path: Path) -> None:
    _assets(cli, "LAP-0001")
    register(cli, "viewer@example.com", "viewer")
    viewer = as_user(cli, token_for(cli, "viewer@example.com"))
    viewer.ok("label", "LAP-0001", "--out", str(tmp_path / "v.png"))
    assert decode_png(tmp_path / "v.png") == ["LAP-0001"]


def test_refs_from_stdin_with_comments_and_repeats(sqlite_cli: Cli, tmp_path: Path) -> None:
    _assets(sqlite_cli, "LAP-0001", "LAP-0002")
    lines = "# to relabel\nLAP-0002\n\nLAP-0001\nLAP-0002\n"
    sqlite_cli.ok(
        "label",
        "--from",
        "-",
        "--template",
        "avery-5160",
        "--out",
        str(tmp_path / "s.pdf"),
        input=lines,
    )
    assert decode_pdf(tmp_path / "s.pdf") == [["LAP-0002", "LAP-0001", "LAP-0002"]]


# --- bad input: exact exit code, a clear message, nothing written -------------------------


def test_unknown_ref_exits_3_and_leaves_out_untouched(cli: Cli, out_dir: Path) -> None:
    _assets(cli, "LAP-0001")
    out = out_dir / "new.pdf"
    result = cli("label", "LAP-0001", "NOPE-1", "NOPE-2", "--out", str(out))
    assert result.exit_code == 3, result
    assert "no asset with tag or id 'NOPE-1', 'NOPE-2'; no labels were made" in result.stderr
    assert not out.exists()
    existing = out_dir / "old.pdf"
    existing.write_bytes(b"yesterday's labels")
    assert cli("label", "NOPE-1", "--out", str(existing)).exit_code == 3
    assert existing.read_bytes() == b"yesterday's labels"
    assert [p.name for p in out_dir.iterdir()] == ["old.pdf"]  # no temporary file left


def test_existing_out_is_replaced_whole_on_success(sqlite_cli: Cli, out_dir: Path) -> None:
    _assets(sqlite_cli, "LAP-0001")
    existing = out_dir / "l.png"
    existing.write_bytes(b"x" * 10_000_000)
    sqlite_cli.ok("label", "LAP-0001", "--out", str(existing))
    assert decode_png(existing) == ["LAP-0001"]
    assert [p.name for p in out_dir.iterdir()] == ["l.png"]


def test_unknown_template_exits_2_listing_the_known(sqlite_cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "l.pdf"
    result = sqlite_cli("label", "LAP-0001", "--template", "dymo-99", "--out", str(out))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: unknown label template 'dymo-99'; known templates: {', '.join(TEMPLATES)}\n"
    )
    assert not out.exists()


def test_tag_too_long_for_the_template_exits_2_naming_it(sqlite_cli: Cli, tmp_path: Path) -> None:
    long_tag = "WORKSTATION-" + "W" * 16
    _assets(sqlite_cli, "LAP-0001", long_tag)
    out = tmp_path / "l.pdf"
    out.write_bytes(b"keep")
    result = sqlite_cli(
        "label", "LAP-0001", long_tag, "--template", "avery-l7651", "--out", str(out)
    )
    assert result.exit_code == 2
    assert f"tag '{long_tag}' does not fit the avery-l7651 template" in result.stderr
    assert "smallest type (4.5 pt)" in result.stderr
    assert out.read_bytes() == b"keep"
    # The same tag fits the long roll label.
    sqlite_cli.ok(
        "label", long_tag, "--template", "brother-29x90", "--out", str(tmp_path / "r.pdf")
    )
    assert decode_pdf(tmp_path / "r.pdf") == [[long_tag]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start-at", "66", "--template", "avery-l7651"], "--start-at must be between 1 and 65"),
        (["--start-at", "2"], "--start-at applies to sheet templates; brother-62x29 is a roll"),
        (["-o", "zpl", "--template", "avery-5160"], "zpl is for label printers, which print rolls"),
        (["-o", "gif"], "unknown label format 'gif'; known formats: pdf, png, svg, zpl"),
        (["--out", "l-{page}.pdf"], "{page} in --out numbers the files of png and svg pages"),
        (["--printer", "127.0.0.1", "-o", "pdf"], "--printer sends zpl only, not pdf"),
        (["--printer", "host:99999"], "--printer 'host:99999' is not HOST[:PORT]"),
        (["--dpi", "300"], "--dpi applies to png and zpl; pdf is vector"),
        (["-o", "zpl", "--dpi", "250"], "--dpi for zpl is one of 203, 300, 600, not 250"),
    ],
)
def test_bad_options_exit_2_before_anything(
    sqlite_cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    _assets(sqlite_cli, "LAP-0001")
    result = sqlite_cli("label", "LAP-0001", *args)
    assert result.exit_code == 2, result
    assert message in result.stderr
    assert result.stdout == ""


def test_many_image_pages_need_page_in_out(sqlite_cli: Cli, out_dir: Path) -> None:
    _assets(sqlite_cli, "LAP-0001", "LAP-0002")
    out = out_dir / "l.png"
    result = sqlite_cli("label", "LAP-0001", "LAP-0002", "--out", str(out))
    assert result.exit_code == 2
    assert "these labels make 2 pages, one file each; --out needs {page}" in result.stderr
    assert list(out_dir.iterdir()) == []
    result = sqlite_cli("label", "LAP-0001", "LAP-0002", "-o", "png")
    assert result.exit_code == 2 and result.stdout == ""


def test_installed_entry_point_writes_pdf_to_a_pipe_and_refuses_a_terminal(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    _assets(sqlite_cli, "LAP-0001", UMLAUTS)
    proc = subprocess.run(
        [str(ASSETCTL_BIN), "label", "LAP-0001", UMLAUTS, "--template", "avery-5160"],
        env=sqlite_cli.env, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"%PDF-")
    (tmp_path / "piped.pdf").write_bytes(proc.stdout)
    assert decode_pdf(tmp_path / "piped.pdf") == [["LAP-0001", UMLAUTS]]
    # The same to a terminal: refused with a hint, nothing written to it.
    import pty

    master, slave = pty.openpty()
    proc = subprocess.run(
        [str(ASSETCTL_BIN), "label", "LAP-0001"],
        env=sqlite_cli.env, stdout=slave, stderr=subprocess.PIPE, timeout=60, check=False,
    )  # fmt: skip
    os.close(slave)
    from tests.conftest import read_terminal

    assert proc.returncode == 2
    assert proc.stderr.decode() == (
        "error: not writing pdf to a terminal\n"
        "hint: use --out FILE, or redirect stdout to a file or a program\n"
    )
    assert read_terminal(master) == b""


def test_bad_url_template_setting_is_refused_naming_the_key(sqlite_cli: Cli) -> None:
    for bad in ("https://inventory.example.com/a/", "ftp://x/{tag}", "https://{tag}.example.com/"):
        result = sqlite_cli("label", "LAP-0001", env={"ASSETCTL_LABEL_URL_TEMPLATE": bad})
        assert result.exit_code == 2, (bad, result)
        assert "label_url_template" in result.stderr.lower()


def test_help_lists_every_template_and_format() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "assetctl", "label", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for template in TEMPLATES.values():
        assert f"{template.name} ({template.title})" in text
    for name in ("pdf:", "png:", "svg:", "zpl:"):
        assert name in text


def test_invisible_characters_in_names_are_shown_as_escapes(sqlite_cli: Cli) -> None:
    # Stored text is other people's data: a bidi override must not reorder the label, and
    # the SVG stays well-formed XML.
    # The CLI refuses such names; plain SQL (any operator's login) does not.
    sqlite_cli.ok(*add_args("LAP-0001", serial="SN1"))
    import sqlite3

    path = sqlite_cli.env["ASSETCTL_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE assets SET name = ? WHERE tag = 'LAP-0001'", ("Laptop \u202eevil\x07",))
    result = sqlite_cli.ok("label", "LAP-0001", "-o", "svg", "--template", "brother-29x90")
    assert decode_svg(result.stdout.encode("utf-8")) == ["LAP-0001"]
    assert ">Laptop \\u202eevil\\x07</text>" in result.stdout
    assert "\u202e" not in result.stdout and "\x07" not in result.stdout


def test_label_font_that_is_not_a_font_exits_2(sqlite_cli: Cli, tmp_path: Path) -> None:
    _assets(sqlite_cli, "LAP-0001")
    fake = tmp_path / "fake.ttf"
    fake.write_text("not a font")
    out = tmp_path / "l.pdf"
    result = sqlite_cli(
        "label", "LAP-0001", "--out", str(out), env={"ASSETCTL_LABEL_FONT": str(fake)}
    )
    assert result.exit_code == 2, result
    assert f"cannot use font {fake}: not a TrueType font" in result.stderr
    assert not out.exists()


def test_label_template_setting_is_the_default_and_help_stays_light(
    sqlite_cli: Cli, out_dir: Path
) -> None:
    _assets(sqlite_cli, "LAP-0001")
    env = {"ASSETCTL_LABEL_TEMPLATE": "avery-5160"}
    sqlite_cli.ok("label", "LAP-0001", "--out", str(out_dir / "l.pdf"), env=env)
    import pypdfium2

    (page,) = pypdfium2.PdfDocument(str(out_dir / "l.pdf"))
    assert (round(page.get_width()), round(page.get_height())) == (612, 792)  # Letter, pt
    bad = sqlite_cli("label", "LAP-0001", env={"ASSETCTL_LABEL_TEMPLATE": "a4"})
    assert bad.exit_code == 2 and "label_template" in bad.stderr.lower()
    # `label --help` builds its text from the registries without the heavy libraries.
    fresh = run_fresh(sqlite_cli.env, "label", "--help")
    assert fresh.code == 0 and "avery-l7651" in fresh.stdout
    heavy = ("PIL", "fpdf", "segno", "fontTools", "sqlalchemy")
    assert not [m for m in fresh.modules if m.split(".")[0] in heavy]


def test_out_in_a_missing_directory_exits_2_naming_it(sqlite_cli: Cli, out_dir: Path) -> None:
    _assets(sqlite_cli, "LAP-0001")
    target = out_dir / "missing" / "l.pdf"
    result = sqlite_cli("label", "LAP-0001", "--out", str(target))
    assert result.exit_code == 2
    assert f"error: cannot write {target}: No such file or directory" in result.stderr
    assert list(out_dir.iterdir()) == []


def test_a_url_too_long_for_the_label_exits_2_naming_the_tag(
    sqlite_cli: Cli, out_dir: Path
) -> None:
    _assets(sqlite_cli, "LAP-0001")
    env = {"ASSETCTL_LABEL_URL_TEMPLATE": "https://inventory.example.com/" + "x" * 300 + "/{tag}"}
    result = sqlite_cli(
        "label", "LAP-0001", "--template", "avery-l7651", "--out", str(out_dir / "l.pdf"), env=env
    )
    assert result.exit_code == 2
    assert "the QR code of tag 'LAP-0001' would have modules smaller than 0.25 mm" in result.stderr
    assert list(out_dir.iterdir()) == []


def test_png_at_another_resolution(sqlite_cli: Cli, out_dir: Path) -> None:
    _assets(sqlite_cli, UMLAUTS)
    out = out_dir / "l.png"
    sqlite_cli.ok("label", UMLAUTS, "--dpi", "600", "--out", str(out))
    assert decode_png(out, dpi=600) == [UMLAUTS]
    from PIL import Image

    with Image.open(out) as image:
        assert image.size == (round(62 / 25.4 * 600), round(29 / 25.4 * 600))


def test_the_default_template_is_a_template() -> None:
    """The label_template setting's default is declared with the settings (so loading them
    does not import the label modules); it must name a real template."""
    from assetctl.core.labels.templates import DEFAULT_TEMPLATE

    assert DEFAULT_TEMPLATE in TEMPLATES
