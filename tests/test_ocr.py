"""Issue 17 part 3, "Serials from photos, with no server": the embedded OCR provider.

The real PP-OCRv4 models of the `ocr` extra read label photos that these tests draw with
Pillow (its bundled TrueType font), stored rotated or mirrored with an EXIF orientation,
far larger than `image_max_edge` (so normalisation downscales them) and JPEG-compressed.
Reading the tag and serial back proves our normalisation keeps labels legible. Without the
extra these tests are skipped with a loud summary line, and fail under CI=true.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pty
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    ASSETCTL_BIN,
    WAIT_S,
    Cli,
    _service_missing,
    base_env,
    read_terminal,
)
from tests.vlm_fakes import STRUCTURED, FakeOllama, refused_url, write_png_bomb

TAG, SERIAL, MODEL = "LAP-0042", "PF4XK2Z9QW", "20W0-00AXGE"
TAG_PATTERN = {"ASSETCTL_TAG_PATTERN": "[A-Z]{3}-[0-9]{4}"}
INSTALL = "pip install 'assetctl[ocr]'"
OCR_INSTALLED = importlib.util.find_spec("rapidocr_onnxruntime") is not None


@pytest.fixture
def ocr_extra() -> None:
    if not OCR_INSTALLED:
        _service_missing("the ocr extra (rapidocr-onnxruntime)", "not installed: make install")


def _upright_photo(tag: str = TAG, serial: str = SERIAL) -> Any:
    """A 4000x3000 'camera photo': a grey surface with a white label on it, the tag in large
    type, then the serial and model on labelled lines (Pillow's bundled font)."""
    from PIL import Image, ImageDraw, ImageFont

    photo = Image.new("RGB", (4000, 3000), (118, 124, 130))
    label = Image.new("RGB", (2000, 1000), "white")
    draw = ImageDraw.Draw(label)
    draw.text((80, 60), tag, fill="black", font=ImageFont.load_default(size=260))
    small = ImageFont.load_default(size=110)
    draw.text((80, 420), f"S/N: {serial}", fill="black", font=small)
    draw.text((80, 620), f"Model: {MODEL}", fill="black", font=small)
    photo.paste(label, (900, 1000))
    return photo


# How the camera stored the pixels for each EXIF orientation, so that applying the
# orientation shows the label upright: 6 is a phone held upright; 5 is also mirrored.
def _stored(orientation: int) -> Any:
    from PIL import Image

    upright = _upright_photo()
    transpose = {
        3: Image.Transpose.ROTATE_180,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        8: Image.Transpose.ROTATE_270,
    }
    return upright.transpose(transpose[orientation])


def label_photo(path: Path, orientation: int = 6, quality: int = 70) -> Path:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    _stored(orientation).save(path, "JPEG", quality=quality, exif=exif)
    return path


def blank_photo(path: Path, colour: tuple[int, int, int] = (240, 240, 240)) -> Path:
    """A photo with no text: a plain surface with a dark rectangle (a device, say)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1600, 1200), colour)
    ImageDraw.Draw(image).rectangle((300, 300, 1300, 900), fill=(40, 40, 40))
    image.save(path, "JPEG", quality=80)
    return path


@pytest.fixture
def ocli(tmp_path: Path) -> Cli:
    """The CLI with no database and OCR as the configured provider."""
    return Cli({**base_env(tmp_path), "ASSETCTL_VLM_PROVIDER": "ocr"})


# --- describe --provider ocr ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("orientation", [6, 5])
def test_describe_reads_tag_and_serial_off_a_rotated_downscaled_jpeg(
    ocr_extra: None, bare_cli: Cli, tmp_path: Path, orientation: int
) -> None:
    photo = label_photo(tmp_path / "label.jpg", orientation)
    result = bare_cli.sub(
        "describe", str(photo), "--provider", "ocr", "--structured", "-o", "json", timeout=WAIT_S
    )
    assert result.exit_code == 0, result.stderr
    [row] = result.json()
    details = row["details"]
    assert TAG in details["visible_identifiers"]
    assert SERIAL in details["visible_identifiers"]
    assert details["model"] == MODEL
    # What text cannot show is not guessed.
    assert (details["category"], details["color"], details["condition"]) == ("unknown",) * 3
    assert row["provider"] == "ocr"
    assert row["model"].startswith("rapidocr-onnxruntime 1.4.")
    assert row["description"] == details["description"]
    assert SERIAL in row["description"] and TAG in row["description"]


@pytest.mark.slow
def test_without_the_exif_orientation_the_mirrored_label_is_unreadable(
    ocr_extra: None, tmp_path: Path
) -> None:
    """The control for the test above: the same stored pixels, bounded and compressed but
    not turned by their EXIF orientation, do not give the serial back. So it is our
    normalisation that makes the label legible, not the model coping with mirror text."""
    from assetctl.providers.base import ProviderConfig
    from assetctl.providers.ocr import OcrProvider

    stored = _stored(5)
    stored.thumbnail((1536, 1536))
    jpeg = io.BytesIO()
    stored.save(jpeg, "JPEG", quality=70)
    reader = OcrProvider(ProviderConfig("ocr", "ocr", "", ""))
    text = " ".join(line.text for line in reader.read(jpeg.getvalue()))
    assert SERIAL not in text and TAG not in text


@pytest.mark.slow
def test_a_photo_without_text_gives_empty_identifiers_and_exit_0(
    ocr_extra: None, ocli: Cli, tmp_path: Path
) -> None:
    plain = blank_photo(tmp_path / "plain.jpg")
    dark = blank_photo(tmp_path / "dark.jpg", (15, 15, 15))
    result = ocli.sub("describe", str(plain), str(dark), "--structured", "-o", "json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert [row["error"] for row in rows] == [None, None]
    for row in rows:
        assert row["details"]["visible_identifiers"] == []
        assert row["details"]["model"] == "unknown"
        assert row["description"] == ""
    plain_text = ocli.sub("describe", str(plain), "-o", "json")
    assert plain_text.exit_code == 0
    assert plain_text.json()[0]["description"] == ""


@pytest.mark.slow
def test_the_model_is_loaded_once_for_many_photos(
    ocr_extra: None, ocli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rapidocr_onnxruntime

    made: list[object] = []

    class Counting(rapidocr_onnxruntime.RapidOCR):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(rapidocr_onnxruntime, "RapidOCR", Counting)
    photos = [str(blank_photo(tmp_path / f"p{i}.jpg", (200 + i, 200, 200))) for i in range(3)]
    result = ocli(*["describe", *photos, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert [row["error"] for row in result.json()] == [None] * 3
    assert len(made) == 1


def test_save_and_prompt_are_refused_for_ocr(ocli: Cli, tmp_path: Path) -> None:
    photo = blank_photo(tmp_path / "p.jpg")
    saved = ocli("describe", str(photo), "--asset", "LAP-0042", "--save")
    assert saved.exit_code == 2
    assert "--save stores a description, and --provider ocr only reads" in saved.stderr
    assert "asset add --from-photo" in saved.stderr
    prompted = ocli("describe", str(photo), "--prompt", "what is the serial?")
    assert prompted.exit_code == 2
    assert "--prompt does not apply to --provider ocr" in prompted.stderr


@pytest.mark.slow
def test_describe_check_loads_the_packaged_models(ocr_extra: None, ocli: Cli) -> None:
    result = ocli.sub("describe", "--check")
    assert result.exit_code == 0, result.stderr
    assert "ok   provider  embedded OCR, no server (rapidocr-onnxruntime 1.4." in result.stdout
    assert "ok   model     PP-OCRv4 text models loaded from the package" in result.stdout


# --- without the extra ---------------------------------------------------------------------


@pytest.fixture
def hidden_extra(tmp_path: Path) -> dict[str, str]:
    """An environment in which `rapidocr_onnxruntime` cannot be imported, as on a machine
    without the extra: a `sitecustomize` on PYTHONPATH puts a finder first on
    `sys.meta_path` that refuses the package (our own code is untouched)."""
    shim = tmp_path / "hide-ocr"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import sys\n"
        "class _HideOcr:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'rapidocr_onnxruntime':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _HideOcr())\n"
    )
    return {"PYTHONPATH": str(shim)}


def test_without_the_extra_describe_exits_7_naming_the_install_command(
    ocli: Cli, tmp_path: Path, hidden_extra: dict[str, str]
) -> None:
    photo = blank_photo(tmp_path / "p.jpg")
    result = ocli.sub("describe", str(photo), env=hidden_extra)
    assert result.exit_code == 7
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: the OCR provider is not installed",
        f"hint: install the OCR extra: {INSTALL} (in a source checkout: poetry install -E "
        "ocr); it needs Python 3.11 or 3.12",
    ]
    as_json = ocli.sub("describe", str(photo), "--structured", "-o", "json", env=hidden_extra)
    assert as_json.exit_code == 7
    error = json.loads(as_json.stderr)["error"]
    assert (error["code"], error["message"]) == (7, "the OCR provider is not installed")
    assert INSTALL in error["hint"]
    check = ocli.sub("describe", "--check", env=hidden_extra)
    assert check.exit_code == 7
    assert "FAIL provider  the OCR provider is not installed; install the OCR extra" in (
        check.stdout
    )


def test_without_the_extra_add_from_photo_exits_7_and_adds_nothing(
    cli: Cli, tmp_path: Path, hidden_extra: dict[str, str]
) -> None:
    photo = blank_photo(tmp_path / "p.jpg")
    args = ("asset", "add", "--from-photo", str(photo), "--yes", "--name", "X")
    result = cli.sub(*args, "--category", "laptop", env=hidden_extra)
    assert result.exit_code == 7
    assert "error: the OCR provider is not installed" in result.stderr
    assert INSTALL in result.stderr
    assert cli.ok("asset", "list", "-o", "json").json()["items"] == []


def test_doctor_names_the_install_command_when_ocr_is_configured_but_missing(
    sqlite_cli: Cli, hidden_extra: dict[str, str]
) -> None:
    env = {**hidden_extra, "ASSETCTL_VLM_PROVIDER": "ocr"}
    result = sqlite_cli.sub("doctor", env=env)
    assert result.exit_code == 7
    [line] = [line for line in result.stdout.splitlines() if "vlm" in line]
    assert line.startswith("FAIL vlm provider  the OCR provider is not installed; ")
    assert INSTALL in line


# --- asset add --from-photo ----------------------------------------------------------------


def _assets(cli: Cli) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cli.ok("asset", "list", "-o", "json").json()["items"]
    return items


@pytest.mark.slow
def test_add_from_photo_with_yes_takes_tag_serial_and_model_as_read(
    ocr_extra: None, cli: Cli, tmp_path: Path
) -> None:
    photo = label_photo(tmp_path / "label.jpg", 6)
    result = cli.sub(
        "asset", "add", "--from-photo", str(photo), "--yes", "--category", "laptop",
        "-o", "json", env=TAG_PATTERN, timeout=WAIT_S,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    record = result.json()
    assert (record["tag"], record["serial"], record["model"]) == (TAG, SERIAL, MODEL)
    assert record["name"] == MODEL  # no manufacturer was read: the model alone
    assert record["category"] == "laptop"
    assert f"Proposed serial: {SERIAL} (from ocr)" in result.stderr
    assert f"Proposed tag: {TAG} (from ocr)" in result.stderr
    [event] = cli.ok("asset", "history", TAG, "-o", "json").json()
    assert event["changes"]["serial"] == {"old": None, "new": SERIAL}
    # The photo itself is stored nowhere: not in the asset, not in its history.
    assert "label.jpg" not in json.dumps([record, event])


@pytest.mark.slow
def test_add_from_photo_options_win_over_what_was_read(
    ocr_extra: None, sqlite_cli: Cli, tmp_path: Path
) -> None:
    photo = label_photo(tmp_path / "label.jpg", 8)
    result = sqlite_cli.sub(
        "asset", "add", "--from-photo", str(photo), "--yes", "--serial", "TYPED-BY-HAND-1",
        "--name", "Laptop of Alice", "--category", "laptop", "-o", "json",
        env=TAG_PATTERN, timeout=WAIT_S,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    record = result.json()
    assert (record["tag"], record["serial"], record["name"]) == (
        TAG,
        "TYPED-BY-HAND-1",
        "Laptop of Alice",
    )
    assert "Proposed serial" not in result.stderr


@pytest.mark.slow
def test_add_from_photo_without_a_tag_read_or_given_exits_2_and_adds_nothing(
    ocr_extra: None, sqlite_cli: Cli, tmp_path: Path
) -> None:
    # No tag pattern configured and no "Asset:" label: the bare tag is not claimed as one.
    photo = label_photo(tmp_path / "label.jpg", 6)
    result = sqlite_cli.sub(
        "asset", "add", "--from-photo", str(photo), "--yes", "--category", "laptop",
        timeout=WAIT_S,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "error: missing --tag (not read from the photo)" in result.stderr
    assert _assets(sqlite_cli) == []


def test_add_from_photo_off_a_terminal_without_yes_exits_2_and_adds_nothing(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    photo = blank_photo(tmp_path / "p.jpg")
    result = sqlite_cli.sub("asset", "add", "--from-photo", str(photo), "--category", "laptop")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --from-photo asks to confirm what it read, and there is no terminal to ask on",
        "hint: pass --yes to take the proposals as read, or give the values as options "
        "(options always win over proposals)",
    ]
    assert _assets(sqlite_cli) == []


def test_add_from_photo_checks_the_login_before_reading_the_photo(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    env = {k: v for k, v in sqlite_cli.env.items() if k != "ASSETCTL_TOKEN"}
    env["ASSETCTL_AUTH_STORAGE"] = "file"
    result = Cli(env).sub(
        "asset", "add", "--from-photo", str(tmp_path / "not-there.jpg"), "--yes",
        "--category", "laptop",
    )  # fmt: skip
    assert result.exit_code == 4, result.stderr
    assert "not-there.jpg" not in result.stderr  # refused before the photo was looked at


def test_add_without_the_required_options_still_exits_2(sqlite_cli: Cli) -> None:
    result = sqlite_cli("asset", "add", "--tag", "LAP-1")
    assert result.exit_code == 2
    assert "error: missing --name, --category" in result.stderr
    yes_alone = sqlite_cli("asset", "add", "--tag", "L", "--name", "n", "--category", "c", "-y")
    assert yes_alone.exit_code == 2
    assert "--yes only applies to --from-photo" in yes_alone.stderr
    assert _assets(sqlite_cli) == []


@pytest.mark.slow
def test_add_from_photo_of_an_asset_already_registered_exits_6_and_adds_nothing(
    ocr_extra: None, sqlite_cli: Cli, tmp_path: Path
) -> None:
    sqlite_cli.ok("asset", "add", "--tag", "OLD-1", "--name", "n", "--category", "laptop",
                  "--serial", SERIAL)  # fmt: skip
    photo = label_photo(tmp_path / "label.jpg", 6)
    result = sqlite_cli.sub(
        "asset", "add", "--from-photo", str(photo), "--yes", "--category", "laptop",
        env=TAG_PATTERN, timeout=WAIT_S,
    )  # fmt: skip
    assert result.exit_code == 6, result.stderr
    assert SERIAL in result.stderr
    assert [a["tag"] for a in _assets(sqlite_cli)] == ["OLD-1"]


@pytest.mark.slow
def test_describe_with_ocr_refuses_a_decompression_bomb(
    ocr_extra: None, ocli: Cli, tmp_path: Path
) -> None:
    bomb = write_png_bomb(tmp_path / "bomb.png")
    photo = blank_photo(tmp_path / "plain.jpg")
    result = ocli.sub("describe", str(bomb), str(photo), "-o", "json", timeout=WAIT_S)
    assert result.exit_code == 2
    rows = {Path(row["file"]).name: row for row in result.json()}
    assert "12000x12000 pixels (144.0 MP) is over the limit of 60.0 MP" in rows["bomb.png"]["error"]
    assert rows["plain.jpg"]["error"] is None  # the other photo is still read


def test_add_from_photo_refuses_a_decompression_bomb(sqlite_cli: Cli, tmp_path: Path) -> None:
    bomb = write_png_bomb(tmp_path / "bomb.png")
    result = sqlite_cli.sub(
        "asset", "add", "--from-photo", str(bomb), "--yes", "--tag", "T-1", "--name", "n",
        "--category", "laptop", timeout=WAIT_S,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "12000x12000 pixels (144.0 MP) is over the limit of 60.0 MP" in result.stderr
    assert _assets(sqlite_cli) == []


@pytest.mark.slow
def test_add_from_photo_on_a_terminal_asks_for_each_proposal(
    ocr_extra: None, sqlite_cli: Cli, tmp_path: Path
) -> None:
    """Enter takes a proposal, typing replaces it, `-` leaves an optional field empty, and a
    required field nothing was read for is asked without a default."""
    photo = label_photo(tmp_path / "label.jpg", 6)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "asset", "add", "--from-photo", str(photo), "-o", "json"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=master,
        env={**sqlite_cli.env, **TAG_PATTERN},
    )
    os.close(slave)
    # tag: Enter; serial: Enter; model: "-"; name: typed; category: typed (no proposal).
    os.write(master, b"\n\n-\nThinkPad T14 of Bob\nlaptop\n")
    stdout, _ = proc.communicate(timeout=WAIT_S)
    seen = read_terminal(master).decode(errors="replace")
    assert proc.returncode == 0, seen
    record = json.loads(stdout)
    assert (record["tag"], record["serial"], record["model"]) == (TAG, SERIAL, None)
    assert (record["name"], record["category"]) == ("ThinkPad T14 of Bob", "laptop")
    assert f"tag (read by ocr) [{TAG}]:" in seen
    assert f"serial (read by ocr), - for none [{SERIAL}]:" in seen
    assert f"model (read by ocr), - for none [{MODEL}]:" in seen
    assert "category:" in seen


@pytest.mark.slow
def test_add_from_photo_ended_at_a_prompt_adds_nothing(
    ocr_extra: None, sqlite_cli: Cli, tmp_path: Path
) -> None:
    photo = label_photo(tmp_path / "label.jpg", 6)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "asset", "add", "--from-photo", str(photo)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=master,
        env={**sqlite_cli.env, **TAG_PATTERN},
    )
    os.close(slave)
    os.write(master, b"\n\x04")  # take the tag, then end the input (Ctrl-D) at the serial
    proc.communicate(timeout=WAIT_S)
    seen = read_terminal(master).decode(errors="replace")
    assert proc.returncode == 130, seen
    assert "interrupted" in seen
    assert _assets(sqlite_cli) == []


@pytest.fixture
def vlm() -> Iterator[FakeOllama]:
    server = FakeOllama().start()
    yield server
    server.stop()


@pytest.mark.slow
def test_add_from_photo_combines_ocr_text_with_the_configured_vision_model(
    ocr_extra: None, sqlite_cli: Cli, tmp_path: Path, vlm: FakeOllama
) -> None:
    vlm.reply = lambda _request: FakeOllama.ok(json.dumps(STRUCTURED))
    photo = label_photo(tmp_path / "label.jpg", 6)
    env = {**TAG_PATTERN, "ASSETCTL_VLM_PROVIDER": "ollama", "ASSETCTL_VLM_BASE_URL": vlm.url}
    result = sqlite_cli.sub(
        "asset", "add", "--from-photo", str(photo), "--yes", "-o", "json", env=env,
        timeout=WAIT_S,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    record = result.json()
    # The label's text wins for what it shows; the model adds what text cannot give.
    assert (record["tag"], record["serial"], record["model"]) == (TAG, SERIAL, MODEL)
    assert (record["manufacturer"], record["category"]) == (
        STRUCTURED["brand"],
        STRUCTURED["category"],
    )
    assert record["name"] == f"{STRUCTURED['brand']} {MODEL}"
    assert "Proposed category: laptop (from ollama)" in result.stderr
    assert "Proposed name: Lenovo 20W0-00AXGE (from ollama+ocr)" in result.stderr
    [request] = vlm.chat_requests()
    assert "format" in request.body  # the structured schema was asked for


@pytest.mark.slow
def test_add_from_photo_goes_on_with_ocr_when_the_vision_model_is_down(
    ocr_extra: None, sqlite_cli: Cli, tmp_path: Path
) -> None:
    photo = label_photo(tmp_path / "label.jpg", 6)
    env = {**TAG_PATTERN, "ASSETCTL_VLM_PROVIDER": "ollama", "ASSETCTL_VLM_BASE_URL": refused_url()}
    result = sqlite_cli.sub(
        "asset", "add", "--from-photo", str(photo), "--yes", "--name", "n", "--category",
        "laptop", "-o", "json", env=env, timeout=WAIT_S,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (result.json()["tag"], result.json()["serial"]) == (TAG, SERIAL)
    assert "warning: the vision model gave no answer (" in result.stderr
    assert "connection refused" in result.stderr


def test_an_invalid_tag_pattern_is_a_configuration_error(sqlite_cli: Cli, tmp_path: Path) -> None:
    photo = blank_photo(tmp_path / "p.jpg")
    result = sqlite_cli(
        "asset", "add", "--from-photo", str(photo), "--yes", env={"ASSETCTL_TAG_PATTERN": "[A-Z"}
    )
    assert result.exit_code == 2
    assert "ASSETCTL_TAG_PATTERN" in result.stderr
    assert "not a valid regular expression" in result.stderr
