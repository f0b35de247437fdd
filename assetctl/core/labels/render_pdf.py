"""Labels as a vector PDF (fpdf2): QR modules are filled rectangles and text is text in an
embedded, subsetted TrueType font, so labels print crisp at any resolution and the tags can
be searched and copied."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

    from assetctl.core.labels.layout import Document, PlacedLabel


def render_pdf(document: Document, dpi: int | None = None) -> list[bytes]:
    """One PDF, one page per page of the layout (a sheet, or one roll label); vector, so
    `dpi` does not apply."""
    from fpdf import FPDF

    template = document.template
    pdf = FPDF(unit="mm", format=(template.page_w, template.page_h))
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creator("assetctl")
    pdf.set_title(f"assetctl labels ({template.name})")
    for index, path in enumerate(document.fonts.paths):
        pdf.add_font(f"f{index}", "", path)
    pdf.set_fill_color(0)
    pdf.set_text_color(0)
    for page in document.pages:
        pdf.add_page()
        for label in page:
            _draw(pdf, label)
    return [bytes(pdf.output())]


def _draw(pdf: FPDF, label: PlacedLabel) -> None:
    m = label.module
    for row, column, length in label.symbol.runs():
        pdf.rect(label.qr_x + column * m, label.qr_y + row * m, length * m, m, style="F")
    for line in label.lines:
        x = line.x
        for run in line.runs:
            pdf.set_font(f"f{run.face}", size=line.size_pt)
            pdf.text(x, line.baseline, run.text)
            x += pdf.get_string_width(run.text)
