"""Labels as PNG images at print resolution (300 dpi), drawn with Pillow from the same layout
as the PDF: one image per page (a whole sheet, or one roll label)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

    from assetctl.core.labels.layout import Document, PlacedLabel

DPI = 300


def render_png(document: Document, dpi: int | None = None) -> list[bytes]:
    from PIL import Image, ImageDraw

    dpi = dpi or DPI
    template = document.template
    scale = dpi / 25.4  # pixels per millimetre
    size = (round(template.page_w * scale), round(template.page_h * scale))
    fonts: dict[tuple[int, float], ImageFont.FreeTypeFont] = {}
    pages = []
    for page in document.pages:
        image = Image.new("L", size, 255)
        draw = ImageDraw.Draw(image)
        for label in page:
            _draw(draw, label, scale, document, fonts)
        buffer = io.BytesIO()
        image.save(buffer, "PNG", dpi=(dpi, dpi))
        pages.append(buffer.getvalue())
    return pages


def _draw(
    draw: ImageDraw.ImageDraw,
    label: PlacedLabel,
    scale: float,
    document: Document,
    fonts: dict[tuple[int, float], ImageFont.FreeTypeFont],
) -> None:
    from PIL import ImageFont

    m = label.module
    for row, column, length in label.symbol.runs():
        # Edges rounded to whole pixels, so modules stay sharp and touch without seams.
        x0 = round((label.qr_x + column * m) * scale)
        y0 = round((label.qr_y + row * m) * scale)
        x1 = round((label.qr_x + (column + length) * m) * scale)
        y1 = round((label.qr_y + (row + 1) * m) * scale)
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=0)
    for line in label.lines:
        x = line.x * scale
        for run in line.runs:
            key = (run.face, line.size_pt)
            if key not in fonts:
                path = document.fonts.paths[run.face]
                fonts[key] = ImageFont.truetype(path, line.size_pt / 72 * 25.4 * scale)
            font = fonts[key]
            draw.text((x, line.baseline * scale), run.text, font=font, fill=0, anchor="ls")
            x += font.getlength(run.text)
