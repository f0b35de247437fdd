"""OCR per photo: `describe --provider ocr --structured` of label photos, one fresh process.

    .venv/bin/python benchmarks/ocr_bench.py [--photos 8]

Draws `--photos` 4000x3000 JPEG label photos (a tag in large type, `S/N:` and `Model:`
lines, EXIF orientation 6), describes them all in one `assetctl` process, and checks every
serial was read back. Reports the fresh process's total time, the model load (a
`describe --check` process, which loads the models and reads nothing), and the median
seconds per photo as `describe` reports them (preparation plus recognition).

Target: every serial read, and the total within load + photos x median + 2 s, i.e. the
models are loaded once per command, not once per photo. Needs the `ocr` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETCTL = Path(sys.executable).parent / "assetctl"


def draw(path: Path, index: int) -> str:
    from PIL import Image, ImageDraw, ImageFont

    serial = f"PF4XK{index:05d}QW"
    photo = Image.new("RGB", (4000, 3000), (118, 124, 130))
    label = Image.new("RGB", (2000, 1000), "white")
    draw = ImageDraw.Draw(label)
    draw.text((80, 60), f"LAP-{index:04d}", fill="black", font=ImageFont.load_default(size=260))
    small = ImageFont.load_default(size=110)
    draw.text((80, 420), f"S/N: {serial}", fill="black", font=small)
    draw.text((80, 620), "Model: 20W0-00AXGE", fill="black", font=small)
    photo.paste(label, (900, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=80, exif=exif)
    return serial


def timed(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=8)
    count = parser.parse_args().photos
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "assetctl")], check=True
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETCTL_")}
        env |= {"XDG_CONFIG_HOME": tmp, "XDG_DATA_HOME": tmp, "ASSETCTL_VLM_PROVIDER": "ocr"}
        serials = [draw(Path(tmp) / f"label{i}.jpg", i) for i in range(count)]
        load, check = timed([str(ASSETCTL), "describe", "--check"], env)
        if check.returncode != 0:
            print(check.stdout + check.stderr, file=sys.stderr)
            return 2
        photos = [str(Path(tmp) / f"label{i}.jpg") for i in range(count)]
        args = [str(ASSETCTL), "describe", *photos, "--structured", "-o", "jsonl"]
        total, run = timed(args, env)
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    read = sum(s in r["details"]["visible_identifiers"] for s, r in zip(serials, rows, strict=True))
    median = statistics.median(r["seconds"] for r in rows)
    bound = load + count * median + 2.0
    print(f"photos                         {count} (4000x3000 JPEG, EXIF orientation 6)")
    print(f"model load (describe --check)  {load:6.2f} s")
    print(f"median per photo               {median:6.2f} s")
    print(f"one process, all photos        {total:6.2f} s  (bound {bound:.2f} s)")
    print(f"serials read back              {read} of {count}")
    ok = run.returncode == 0 and read == count and total <= bound
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
