"""Label rendering: 650 assets (ten Avery L7651 sheets, URL QR codes) in every format.

    .venv/bin/python benchmarks/labels_bench.py

QR encoding (segno, pure Python: mask selection dominates) is the floor every format pays
once per label; the guard is that layout plus each renderer costs at most 3x that floor, so
a renderer can never become the bottleneck. Ratios inside one run, best of 3, so a busy
second core skews both sides alike. In-process (no database, no start-up): `asset list`
and start-up are measured by other benchmarks.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from assetctl.core.labels.fonts import font_stack
from assetctl.core.labels.formats import FORMATS, LabelFormat
from assetctl.core.labels.layout import LabelContent, lay_out
from assetctl.core.labels.qr import make_symbol, payload
from assetctl.core.labels.templates import TEMPLATES, Template

LABELS = 650
TARGET = 3.0
URL = "https://inventory.example.com/a/{tag}"


def _contents(run: int) -> list[LabelContent]:
    # Tags differ per run: make_symbol caches repeated payloads.
    tags = [f"LAP-{run}-{n:05d}" for n in range(LABELS)]
    return [LabelContent(t, "Dell Latitude 7440", f"SN{n:010d}", payload(t, URL))
            for n, t in enumerate(tags)]  # fmt: skip


def _best(work: Callable[[int], object]) -> float:
    times = []
    for run in range(3):
        start = time.perf_counter()
        work(run)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    fonts = font_stack("")
    counter = iter(range(1000))
    floor = _best(lambda _run: [make_symbol(c.payload) for c in _contents(next(counter))])
    print(f"{'case':<28}{'seconds':>9}{'ms/label':>10}{'x floor':>9}")
    print(f"{'QR encoding (floor)':<28}{floor:>9.2f}{floor / LABELS * 1000:>10.1f}{1:>9.2f}")
    worst = 0.0
    for name, fmt in FORMATS.items():
        template = TEMPLATES["zebra-2x1" if fmt.rolls_only else "avery-l7651"]

        def work(_run: int, fmt: LabelFormat = fmt, template: Template = template) -> None:
            fmt.render(lay_out(_contents(next(counter)), template, fonts), None)

        seconds = _best(work)
        ratio = seconds / floor
        worst = max(worst, ratio)
        label = f"{name} ({template.name})"
        print(f"{label:<28}{seconds:>9.2f}{seconds / LABELS * 1000:>10.1f}{ratio:>9.2f}")
    verdict = "met" if worst <= TARGET else "MISSED"
    print(f"\nworst format: {worst:.2f}x the QR floor; target <= {TARGET}x: {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
