"""Labels as ZPL II for Zebra printers, one `^XA ... ^XZ` format per label at 203 dpi
(8 dots/mm). `^CI28` makes field data UTF-8; every field goes through `^FH` with anything
outside printable ASCII (and ZPL's own `^`, `~`, `_`) written as `_XX` bytes, so a tag can
never inject printer commands. The QR code is `^BQN,2` (model 2) at level M in manual byte
mode with the UTF-8 byte count: the very symbol the other formats draw. Text uses the
printer's scalable font 0; characters it lacks need a font loaded on the printer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from assetctl.core.labels.qr import ERROR_LEVEL

if TYPE_CHECKING:
    from assetctl.core.labels.layout import Document, PlacedLabel

DOTS_PER_MM = 8
_PLAIN = frozenset(range(0x20, 0x7F)) - {ord("^"), ord("~"), ord("_")}


def field(text: str) -> str:
    """`text` as `^FH` field data: UTF-8 bytes, each unsafe one as `_XX`."""
    return "".join(chr(b) if b in _PLAIN else f"_{b:02X}" for b in text.encode("utf-8"))


def _dots(mm: float) -> int:
    return round(mm * DOTS_PER_MM)


def render_zpl(document: Document) -> list[bytes]:
    """One ZPL stream holding every label."""
    template = document.template
    formats = []
    for page in document.pages:
        for label in page:
            formats.append(_label(label, _dots(template.page_w), _dots(template.page_h)))
    return ["".join(formats).encode("ascii")]


def _label(label: PlacedLabel, width: int, height: int) -> str:
    data = label.content.payload.encode("utf-8")
    # Whole dots per module, never larger than the layout's box.
    magnification = max(1, min(10, math.floor(label.module * DOTS_PER_MM)))
    parts = [
        "^XA",
        "^CI28",
        f"^PW{width}",
        f"^LL{height}",
        "^LH0,0",
        f"^FO{_dots(label.qr_x)},{_dots(label.qr_y)}",
        f"^BQN,2,{magnification},{ERROR_LEVEL}",
        f"^FH_^FD{ERROR_LEVEL}M,B{len(data):04d}{field(label.content.payload)}^FS",
    ]
    for line in label.lines:
        size = max(10, round(line.size_pt / 72 * 25.4 * DOTS_PER_MM))
        parts.append(
            f"^FT{_dots(line.x)},{_dots(line.baseline)}^A0N,{size},{size}"
            f"^FH_^FD{field(line.text)}^FS"
        )
    parts.append("^XZ\n")
    return "\n".join(parts)
