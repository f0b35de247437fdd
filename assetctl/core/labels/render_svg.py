"""Labels as SVG, one document per page, sized in millimetres: QR modules are one path,
text is text (in Noto Sans where installed, else the viewer's sans-serif)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from assetctl.core.labels.fonts import BUNDLED_FAMILY

if TYPE_CHECKING:
    from assetctl.core.labels.layout import Document, PlacedLabel


def render_svg(document: Document, dpi: int | None = None) -> list[bytes]:
    del dpi  # vector: no resolution
    template = document.template
    pages = []
    for page in document.pages:
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(template.page_w)}mm" '
            f'height="{_n(template.page_h)}mm" '
            f'viewBox="0 0 {_n(template.page_w)} {_n(template.page_h)}">\n',
            f'<rect width="{_n(template.page_w)}" height="{_n(template.page_h)}" fill="#fff"/>\n',
        ]
        parts += [_label(label) for label in page]
        parts.append("</svg>\n")
        pages.append("".join(parts).encode("utf-8"))
    return pages


def _n(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _label(label: PlacedLabel) -> str:
    m = label.module
    path = "".join(
        f"M{_n(label.qr_x + column * m)} {_n(label.qr_y + row * m)}"
        f"h{_n(length * m)}v{_n(m)}h{_n(-length * m)}z"
        for row, column, length in label.symbol.runs()
    )
    out = [
        f'<g class="label" data-tag={quoteattr(label.content.tag)}>\n',
        f'<path class="qr" d="{path}" fill="#000" '
        f"data-payload={quoteattr(label.content.payload)}/>\n",
    ]
    for line in label.lines:
        out.append(
            f'<text x="{_n(line.x)}" y="{_n(line.baseline)}" '
            f'font-family="{BUNDLED_FAMILY}, sans-serif" '
            f'font-size="{_n(line.size_pt * 25.4 / 72)}" textLength="{_n(line.width)}" '
            f'lengthAdjust="spacingAndGlyphs">{escape(line.text)}</text>\n'
        )
    out.append("</g>\n")
    return "".join(out)
