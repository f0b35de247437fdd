"""Labels as ZPL II for Zebra printers, one `^XA ... ^XZ` format per label at 203 dpi
(8 dots/mm) unless told the printer's resolution (300 or 600 dpi). `^CI28` makes field
data UTF-8; every field goes through `^FH` with anything outside printable ASCII (and
ZPL's own `^`, `~`, `_`) written as `_XX` bytes, so a tag can never inject printer
commands. The QR code is `^BQN,2` (model 2) at level M in manual byte mode with the UTF-8
byte count: the very symbol the other formats draw. Text uses the printer's scalable
font 0; characters it lacks need a font loaded on the printer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from assetctl.core.labels.qr import ERROR_LEVEL

if TYPE_CHECKING:
    from assetctl.core.labels.layout import Document, PlacedLabel

DPI = 203  # 8 dots/mm, most Zebra desktop printers; 300 (12) and 600 (24) also exist
DOTS_PER_MM = {203: 8, 300: 12, 600: 24}
_PLAIN = frozenset(range(0x20, 0x7F)) - {ord("^"), ord("~"), ord("_")}


def field(text: str) -> str:
    """`text` as `^FH` field data: UTF-8 bytes, each unsafe one as `_XX`."""
    return "".join(chr(b) if b in _PLAIN else f"_{b:02X}" for b in text.encode("utf-8"))


def render_zpl(document: Document, dpi: int | None = None) -> list[bytes]:
    """One ZPL stream holding every label, for a printer of `dpi` (203, 300 or 600)."""
    per_mm = DOTS_PER_MM[dpi or DPI]
    template = document.template
    formats = []
    for page in document.pages:
        for label in page:
            formats.append(
                _label(
                    label, per_mm, round(template.page_w * per_mm), round(template.page_h * per_mm)
                )
            )
    return ["".join(formats).encode("ascii")]


def _label(label: PlacedLabel, per_mm: int, width: int, height: int) -> str:
    def dots(mm: float) -> int:
        return round(mm * per_mm)

    data = label.content.payload.encode("utf-8")
    # Whole dots per module, never larger than the layout's box.
    magnification = max(1, min(10, math.floor(label.module * per_mm)))
    parts = [
        "^XA",
        "^CI28",
        f"^PW{width}",
        f"^LL{height}",
        "^LH0,0",
        f"^FO{dots(label.qr_x)},{dots(label.qr_y)}",
        f"^BQN,2,{magnification},{ERROR_LEVEL}",
        f"^FH_^FD{ERROR_LEVEL}M,B{len(data):04d}{field(label.content.payload)}^FS",
    ]
    for line in label.lines:
        size = max(10, round(line.size_pt / 72 * 25.4 * per_mm))
        parts.append(
            f"^FT{dots(line.x)},{dots(line.baseline)}^A0N,{size},{size}^FH_^FD{field(line.text)}^FS"
        )
    parts.append("^XZ\n")
    return "\n".join(parts)
