"""`assetctl label`: assets -> rendered label pages, in one read transaction.

A request is checked before anything is read (`label_request`: template, format, starting
position, printer), so bad input never needs a login; `make_labels` then finds every asset
(any unknown REF -> exit 3, all of them named), lays the labels out and renders them. Nothing
is written here: the caller writes files or sends to a printer only once all pages exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.labels.formats import LabelFormat, check_dpi, format_for
from assetctl.core.labels.layout import LabelContent, check_start, lay_out
from assetctl.core.labels.output import Printer, page_paths, parse_printer
from assetctl.core.labels.templates import TEMPLATES, Template, get_template
from assetctl.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import Asset


@dataclass(frozen=True)
class LabelRequest:
    refs: tuple[str, ...]
    template: Template
    format: LabelFormat
    start_at: int
    url_template: str  # empty: the QR code holds the tag
    font: str  # extra font for characters the bundled one lacks; empty: none
    printer: Printer | None
    dpi: int | None = None  # png and zpl: None is the format's default


@dataclass(frozen=True)
class Rendered:
    format: LabelFormat
    files: list[bytes]  # one per page for per-page formats, else one
    labels: int
    pages: int


def label_request(
    refs: Sequence[str],
    *,
    template: str,
    output: str | None,
    out: str | None,
    printer: str | None,
    start_at: int,
    url_template: str,
    font: str,
    dpi: int | None = None,
) -> LabelRequest:
    """Check a `label` command line before anything is read (exit 2 on bad input)."""
    if printer is not None and out is not None:
        raise InvalidInputError("give --printer or --out, not both")
    chosen = get_template(template)
    fmt = format_for(out, output, printer)
    if fmt.rolls_only and chosen.is_sheet:
        rolls = ", ".join(name for name, t in TEMPLATES.items() if not t.is_sheet)
        raise InvalidInputError(
            f"{fmt.name} is for label printers, which print rolls; {chosen.name} is a sheet",
            hint=f"use a roll template ({rolls}) with -o {fmt.name}",
        )
    check_start(chosen, start_at)
    check_dpi(fmt, dpi)
    if out is not None and out != "-":
        page_paths(out, 1, file_per_page=fmt.file_per_page)  # refuses a misplaced {page}
    cleaned = tuple(ref.strip() for ref in refs if ref.strip())
    if not cleaned:
        raise InvalidInputError("no asset given", hint="pass REFs (tags or ids) or --from FILE")
    where = parse_printer(printer) if printer is not None else None
    return LabelRequest(cleaned, chosen, fmt, start_at, url_template, font, where, dpi)


def make_labels(session: Session, caller: Principal, request: LabelRequest) -> Rendered:
    """Render the labels of the requested assets (viewer permission suffices). A REF may
    repeat: each occurrence is one label."""
    require(caller, Permission.READ)
    from assetctl.core.labels.fonts import font_stack
    from assetctl.core.labels.qr import payload
    from assetctl.json_values import visible

    assets = _find(session, request.refs)
    contents = [
        LabelContent(
            visible(asset.tag),
            visible(asset.name or ""),
            visible(asset.serial) if asset.serial else None,
            payload(asset.tag, request.url_template),
        )
        for asset in assets
    ]
    document = lay_out(
        contents,
        request.template,
        font_stack(request.font),
        request.start_at,
        check_glyphs=request.format.own_fonts,
    )
    files = request.format.render(document, request.dpi)
    return Rendered(request.format, files, document.labels, len(document.pages))


def _find(session: Session, refs: Sequence[str]) -> list[Asset]:
    from assetctl.core.assets.lookup import resolve

    found: dict[str, Asset] = {}
    unknown: list[str] = []
    for ref in dict.fromkeys(refs):
        try:
            found[ref] = resolve(session, ref)
        except NotFoundError:
            unknown.append(ref)
    if unknown:
        shown = ", ".join(repr(ref) for ref in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise NotFoundError(
            f"no asset with tag or id {shown}{more}; no labels were made",
            hint="see `assetctl asset list`",
        )
    return [found[ref] for ref in refs]
