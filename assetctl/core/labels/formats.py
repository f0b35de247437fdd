"""The output formats of labels, declared once: `-o` choices, help, the file suffix that
picks a format from `--out`, and how each is written all derive from `FORMATS`. (These are
not the record writers of `assetctl.writers`: labels are pages, not rows.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assetctl.core.labels.render_pdf import render_pdf
from assetctl.core.labels.render_png import render_png
from assetctl.core.labels.render_svg import render_svg
from assetctl.core.labels.render_zpl import render_zpl
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from assetctl.core.labels.layout import Document


@dataclass(frozen=True)
class LabelFormat:
    name: str
    suffix: str
    help: str
    render: Callable[[Document, int | None], list[bytes]]  # (layout, dpi or the default)
    binary: bool  # refused on a terminal
    file_per_page: bool  # one file per page (images) rather than one file for all
    rolls_only: bool = False  # label printers print rolls, not sheets
    printable: bool = False  # can go straight to `--printer`
    # Text is drawn in our fonts (so a character none has is refused); ZPL text is drawn
    # by the printer's own font.
    own_fonts: bool = True
    resolutions: tuple[int, ...] = ()  # what --dpi may be (first: the default); () = vector


FORMATS: dict[str, LabelFormat] = {
    f.name: f
    for f in (
        LabelFormat("pdf", ".pdf", "vector PDF, one page per sheet or roll label", render_pdf,
                    binary=True, file_per_page=False),
        LabelFormat("png", ".png", "image (300 dpi unless --dpi), one file per page",
                    render_png, binary=True, file_per_page=True,
                    resolutions=(300, 150, 200, 203, 600)),
        LabelFormat("svg", ".svg", "vector image, one file per page", render_svg,
                    binary=False, file_per_page=True),
        LabelFormat("zpl", ".zpl", "ZPL II for Zebra printers, roll templates, 203 dpi "
                    "unless --dpi 300 or 600", render_zpl, binary=False, file_per_page=False,
                    rolls_only=True, printable=True, own_fonts=False,
                    resolutions=(203, 300, 600)),
    )
}  # fmt: skip
DEFAULT_FORMAT = "pdf"


def format_names() -> str:
    return ", ".join(FORMATS)


def get_format(name: str) -> LabelFormat:
    found = FORMATS.get(name.strip().lower())
    if found is None:
        raise InvalidInputError(
            f"unknown label format {name!r}; known formats: {format_names()}",
        )
    return found


def format_for(out: str | None, requested: str | None, printer: str | None) -> LabelFormat:
    """`-o` if given, else the format `--out`'s suffix names, else zpl for `--printer`,
    else PDF; a printer takes ZPL only."""
    if requested is not None:
        chosen = get_format(requested)
    elif printer is not None:
        chosen = FORMATS["zpl"]
    else:
        suffix = ("." + out.rsplit(".", 1)[-1].lower()) if out and "." in out else ""
        chosen = (
            next((f for f in FORMATS.values() if f.suffix == suffix), None)
            or FORMATS[DEFAULT_FORMAT]
        )
    if printer is not None and not chosen.printable:
        printable = ", ".join(f.name for f in FORMATS.values() if f.printable)
        raise InvalidInputError(
            f"--printer sends {printable} only, not {chosen.name}",
            hint="use -o zpl with --printer, or --out FILE for other formats",
        )
    return chosen


def check_dpi(fmt: LabelFormat, dpi: int | None) -> None:
    """`--dpi` only for formats with pixels or printer dots, and only what they support."""
    if dpi is None:
        return
    if not fmt.resolutions:
        raising = [f.name for f in FORMATS.values() if f.resolutions]
        raise InvalidInputError(
            f"--dpi applies to {' and '.join(raising)}; {fmt.name} is vector",
            hint="leave --dpi out",
        )
    if dpi not in fmt.resolutions:
        allowed = ", ".join(str(r) for r in sorted(fmt.resolutions))
        raise InvalidInputError(f"--dpi for {fmt.name} is one of {allowed}, not {dpi}")
