"""The label sizes `assetctl label --template` knows, declared once as data: help text, the
"unknown template" message, the config check and the layout all derive from `TEMPLATES`.

Sizes are millimetres, origin top left. A roll template is one label per page (the printer
cuts or tears after each); a sheet template places `columns` x `rows` labels on one page,
filled row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

from assetctl import config_specs
from assetctl.errors import InvalidInputError

INCH = 25.4


@dataclass(frozen=True)
class Template:
    name: str
    title: str  # what a person knows the stock as
    page_w: float
    page_h: float
    label_w: float
    label_h: float
    columns: int = 1
    rows: int = 1
    left: float = 0.0  # page edge to the first label's left edge
    top: float = 0.0  # page edge to the first label's top edge
    pitch_x: float = 0.0  # left edge to left edge of neighbouring labels
    pitch_y: float = 0.0
    padding: float = 1.5  # label edge to content: printers drift and die-cuts wander
    min_pt: float = 5.0  # smallest type on the label; a tag that needs less is refused
    max_tag_pt: float = 20.0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def is_sheet(self) -> bool:
        return self.per_page > 1

    @property
    def size_text(self) -> str:
        return f"{_mm(self.label_w)}x{_mm(self.label_h)} mm"

    def origin(self, slot: int) -> tuple[float, float]:
        """Top-left corner of label `slot` (0-based, row by row) on its page."""
        row, column = divmod(slot, self.columns)
        return self.left + column * self.pitch_x, self.top + row * self.pitch_y


def _mm(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _roll(name: str, title: str, w: float, h: float, **kw: float) -> Template:
    return Template(name, title, w, h, w, h, **kw)  # type: ignore[arg-type]


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        _roll("brother-62x29", "Brother DK-11209 roll, 62x29 mm", 62, 29, max_tag_pt=22),
        _roll("brother-29x90", "Brother DK-11201 roll, 29x90 mm, printed across", 90, 29),
        _roll("zebra-2x1", "Zebra 2x1 in roll, 50.8x25.4 mm", 2 * INCH, 1 * INCH),
        Template(
            "avery-l7651", "Avery L7651 sheet, A4, 5x13 = 65 labels of 38.1x21.2 mm",
            210, 297, 38.1, 21.2, columns=5, rows=13, left=4.75, top=10.7,
            pitch_x=40.6, pitch_y=21.2, padding=1.2, min_pt=4.5, max_tag_pt=11,
        ),
        Template(
            "avery-5160", "Avery 5160 sheet, Letter, 3x10 = 30 labels of 2.625x1 in",
            8.5 * INCH, 11 * INCH, 2.625 * INCH, 1 * INCH, columns=3, rows=10,
            left=0.1875 * INCH, top=0.5 * INCH, pitch_x=2.75 * INCH, pitch_y=1 * INCH,
            min_pt=4.5, max_tag_pt=16,
        ),
    )
}  # fmt: skip

# The default of the label_template setting (declared with it, so loading the settings does
# not import this module); one of TEMPLATES (tests/test_labels.py).
DEFAULT_TEMPLATE = config_specs.DEFAULT_LABEL_TEMPLATE


def template_names() -> str:
    return ", ".join(TEMPLATES)


def get_template(name: str) -> Template:
    """The template called `name` (case-insensitive); unknown -> exit 2 listing the known."""
    found = TEMPLATES.get(name.strip().lower())
    if found is None:
        raise InvalidInputError(
            f"unknown label template {name!r}; known templates: {template_names()}",
            hint="see `assetctl label --help` for their sizes",
        )
    return found


def parse_template_name(raw: object) -> str:
    """Config check of `label_template`."""
    name = str(raw).strip().lower()
    if name not in TEMPLATES:
        raise ValueError(f"expected one of: {template_names()}")
    return name
