"""Where everything goes: labels on pages (sheets fill row by row from a starting
position), and on each label the QR code on the left, then the tag in the largest type that
fits, the name and the serial. Every renderer draws this one layout, in millimetres."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assetctl.core.labels.fonts import MM_PER_PT, FontStack, Run
from assetctl.core.labels.qr import QUIET_ZONE, Symbol, make_symbol
from assetctl.core.labels.templates import Template, template_names
from assetctl.errors import InvalidInputError

# Line pitch and where the baseline sits in a line, as fractions of the type size.
LINE = 1.2
ASCENT = 0.95
# Smallest QR module: below 0.25 mm label printers (203/300 dpi) smear modules together.
MIN_MODULE_MM = 0.25
# The name and serial lines are this fraction of the tag's size (at least the minimum).
SMALL_RATIO = 0.55
STEP_PT = 0.5
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class LabelContent:
    """What one label says."""

    tag: str
    name: str
    serial: str | None
    payload: str  # what the QR code holds


@dataclass(frozen=True)
class TextLine:
    x: float
    baseline: float
    size_pt: float
    text: str
    runs: tuple[Run, ...]
    width: float


@dataclass(frozen=True)
class PlacedLabel:
    content: LabelContent
    x: float  # the label's top-left corner on its page
    y: float
    qr_x: float  # the QR symbol's top-left corner (inside its quiet zone)
    qr_y: float
    module: float  # side of one module
    symbol: Symbol
    lines: tuple[TextLine, ...]


@dataclass(frozen=True)
class Document:
    template: Template
    fonts: FontStack
    pages: tuple[tuple[PlacedLabel, ...], ...]

    @property
    def labels(self) -> int:
        return sum(len(page) for page in self.pages)


def check_start(template: Template, start_at: int) -> None:
    """`--start-at N` names a free position of a half-used sheet (1 = top left)."""
    if not template.is_sheet:
        if start_at != 1:
            raise InvalidInputError(
                f"--start-at applies to sheet templates; {template.name} is a roll",
                hint="leave --start-at out for roll labels",
            )
        return
    if not 1 <= start_at <= template.per_page:
        raise InvalidInputError(
            f"--start-at must be between 1 and {template.per_page} on {template.name} "
            f"({template.columns} columns x {template.rows} rows, counted row by row)",
        )


def lay_out(
    contents: Sequence[LabelContent],
    template: Template,
    fonts: FontStack,
    start_at: int = 1,
    *,
    check_glyphs: bool = True,
) -> Document:
    """Place every label, or refuse (exit 2) naming each asset whose text cannot be set:
    characters no font has (when `check_glyphs`), or a tag too long for the template at its
    smallest type."""
    check_start(template, start_at)
    if check_glyphs:
        _check_glyphs(contents, fonts)
    placed: list[PlacedLabel] = []
    too_long: list[str] = []
    too_dense: list[str] = []
    for index, content in enumerate(contents):
        slot = start_at - 1 + index
        x, y = template.origin(slot % template.per_page)
        label = _place(content, template, fonts, x, y)
        if isinstance(label, PlacedLabel):
            placed.append(label)
        elif label == TOO_DENSE:
            too_dense.append(content.tag)
        else:
            too_long.append(content.tag)
    if too_dense:
        raise InvalidInputError(
            f"the QR code of {_listed(too_dense, 'tag')} would have modules smaller than "
            f"{MIN_MODULE_MM} mm on the {template.name} template ({template.size_text}); "
            "no printer resolves that",
            hint=f"use a larger template ({template_names()}) or a shorter label_url_template",
        )
    if too_long:
        raise InvalidInputError(
            f"{_listed(too_long, 'tag')} {'does' if len(too_long) == 1 else 'do'} not fit "
            f"the {template.name} template ({template.size_text}) at the smallest type "
            f"({template.min_pt:g} pt) with its QR code",
            hint=f"use a larger template ({template_names()})",
        )
    first = template.per_page - (start_at - 1)
    pages = [tuple(placed[:first])]
    for start in range(first, len(placed), template.per_page):
        pages.append(tuple(placed[start : start + template.per_page]))
    return Document(template, fonts, tuple(page for page in pages if page))


def _listed(items: Sequence[str], what: str) -> str:
    shown = ", ".join(repr(item) for item in items[:5])
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return f"{what}{'s' if len(items) > 1 else ''} {shown}{more}"


def _check_glyphs(contents: Sequence[LabelContent], fonts: FontStack) -> None:
    bad = []
    for content in contents:
        missing = fonts.missing(content.tag + content.name + (content.serial or ""))
        if missing:
            bad.append(f"{content.tag!r} ({missing})")
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InvalidInputError(
            f"no label font has the characters of asset {', '.join(bad[:5])}{more}",
            hint="set label_font to a TrueType font that has them (e.g. Noto Sans CJK "
            "for Chinese, Japanese and Korean)",
        )


TOO_DENSE = "too dense"


def _place(
    content: LabelContent, template: Template, fonts: FontStack, x: float, y: float
) -> PlacedLabel | str | None:
    """The label, or TOO_DENSE (QR modules too small), or None (the tag does not fit)."""
    pad = template.padding
    symbol = make_symbol(content.payload)
    side = min(template.label_h - 2 * pad, template.label_w * 0.45)
    module = side / (symbol.size + 2 * QUIET_ZONE)
    if module < MIN_MODULE_MM:
        return TOO_DENSE
    text_x = x + pad + side + pad
    text_w = x + template.label_w - pad - text_x
    sizes = _fit(content, template, fonts, text_w)
    if sizes is None:
        return None
    tag_pt, small_pt = sizes
    texts = [(content.tag, tag_pt)]
    texts += [(content.name, small_pt)] if content.name else []
    if content.serial:
        # A serial is what people type off the label: smaller type before an ellipsis.
        serial = f"S/N {content.serial}"
        serial_pt = small_pt
        while serial_pt - STEP_PT >= template.min_pt and fonts.width_mm(serial, serial_pt) > text_w:
            serial_pt -= STEP_PT
        texts.append((serial, serial_pt))
    height = sum(size * MM_PER_PT * LINE for _text, size in texts)
    cursor = y + (template.label_h - height) / 2
    lines = []
    for text, size in texts:
        fitted = _shorten(text, size, fonts, text_w)
        baseline = cursor + size * MM_PER_PT * ASCENT
        width = fonts.width_mm(fitted, size)
        lines.append(TextLine(text_x, baseline, size, fitted, fonts.runs(fitted), width))
        cursor += size * MM_PER_PT * LINE
    return PlacedLabel(
        content,
        x,
        y,
        x + pad + QUIET_ZONE * module,
        y + (template.label_h - side) / 2 + QUIET_ZONE * module,
        module,
        symbol,
        tuple(lines),
    )


def _fit(
    content: LabelContent, template: Template, fonts: FontStack, width: float
) -> tuple[float, float] | None:
    """The largest tag size (and the name/serial size with it) that fits, or None."""
    height = template.label_h - 2 * template.padding
    small_lines = bool(content.name) + bool(content.serial)
    size = template.max_tag_pt
    while size >= template.min_pt:
        small = max(template.min_pt, size * SMALL_RATIO)
        needed = (size + small_lines * small) * MM_PER_PT * LINE
        if needed <= height and fonts.width_mm(content.tag, size) <= width:
            return size, small
        size -= STEP_PT
    return None


def _shorten(text: str, size: float, fonts: FontStack, width: float) -> str:
    """`text`, cut with an ellipsis where it would run off the label (names, serials)."""
    if fonts.width_mm(text, size) <= width:
        return text
    while text and fonts.width_mm(text + ELLIPSIS, size) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS
