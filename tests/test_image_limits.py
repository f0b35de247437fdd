"""Issue 18, image bombs: a photo is refused by the pixel count its header declares, before
it is decoded, so a 140 KB file cannot make `describe` take most of a gigabyte."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli, base_env, run_measured
from tests.test_describe import ollama_env
from tests.vlm_fakes import FakeOllama, make_photo, write_png_bomb

# Peak RSS a refused bomb may cost: the interpreter, Typer, httpx and Pillow, no pixels.
# Decoding the 12000x12000 bomb took 830 MB before the limit.
BOMB_RSS_LIMIT_MB = 150


@pytest.fixture
def vcli(tmp_path: Path, ollama: FakeOllama) -> Cli:
    return Cli({**base_env(tmp_path), **ollama_env(ollama)})


def test_a_png_bomb_is_refused_from_its_header_with_bounded_memory(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    bomb = write_png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 200_000
    run = run_measured(["describe", str(bomb)], vcli.env)
    code, stderr, rss_mb = run.code, run.stderr, run.peak_rss_mb
    assert code == 2, stderr
    assert f"{bomb}: 12000x12000 pixels (144.0 MP) is over the limit of 60.0 MP" in stderr
    assert "image_max_pixels" in stderr
    assert "Traceback" not in stderr and "DecompressionBomb" not in stderr
    assert rss_mb < BOMB_RSS_LIMIT_MB, f"peak RSS {rss_mb:.0f} MB"
    assert ollama.chat_requests() == []


def test_four_bombs_and_a_photo_in_one_batch(vcli: Cli, ollama: FakeOllama, tmp_path: Path) -> None:
    bombs = [str(write_png_bomb(tmp_path / f"bomb{i}.png")) for i in range(4)]
    good = str(make_photo(tmp_path / "good.jpg"))
    run = run_measured(["describe", *bombs, good, "-o", "jsonl"], vcli.env)
    code, stderr, rss_mb = run.code, run.stderr, run.peak_rss_mb
    assert code == 2, stderr
    assert stderr.count("is over the limit of 60.0 MP") == 4
    assert rss_mb < BOMB_RSS_LIMIT_MB, f"peak RSS {rss_mb:.0f} MB"
    assert len(ollama.chat_requests()) == 1  # the good photo was still described


def test_the_limit_is_a_setting(vcli: Cli, ollama: FakeOllama, tmp_path: Path) -> None:
    photo = str(make_photo(tmp_path / "photo.jpg", size=(1000, 800)))
    small = vcli("describe", photo, env={"ASSETCTL_IMAGE_MAX_PIXELS": "799999"})
    assert small.exit_code == 2, small.stderr
    assert "1000x800 pixels (0.8 MP) is over the limit of 0.8 MP" in small.stderr
    assert ollama.chat_requests() == []
    exact = vcli("describe", photo, env={"ASSETCTL_IMAGE_MAX_PIXELS": "800000"})
    assert exact.exit_code == 0, exact.stderr
    assert len(ollama.chat_requests()) == 1
    shown = vcli("config", "show", "-o", "json")
    assert '"image_max_pixels"' in shown.stdout and "60000000" in shown.stdout


def test_a_bad_limit_names_the_setting_and_the_value(vcli: Cli, tmp_path: Path) -> None:
    result = vcli("describe", str(tmp_path / "x.jpg"), env={"ASSETCTL_IMAGE_MAX_PIXELS": "lots"})
    assert result.exit_code == 2
    assert "image_max_pixels" in result.stderr and "'lots'" in result.stderr
