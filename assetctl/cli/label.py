"""`assetctl label REF...`: print asset labels with QR codes as PDF, PNG, SVG or ZPL, to a
file, stdout, or straight to a Zebra printer. Parses the command line, calls
`core.labels.service.make_labels` in one read transaction, and delivers the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from assetctl.cli.state import AppState, Effect, get_state
from assetctl.core.labels.formats import FORMATS
from assetctl.core.labels.templates import DEFAULT_TEMPLATE, TEMPLATES
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from assetctl.core.labels.service import LabelRequest, Rendered

_TEMPLATE_HELP = f"Label size [config: label_template; default {DEFAULT_TEMPLATE}]: " + "; ".join(
    f"{t.name} ({t.title})" for t in TEMPLATES.values()
)
_FORMAT_HELP = (
    "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values())
    + ". Default: from the --out suffix, else pdf (zpl with --printer)."
)


def label(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Asset tags or ids (id:N forces the id); one label each.",
            metavar="REF...",
            show_default=False,
        ),
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option("--from", metavar="FILE", help="One REF per line; - reads stdin."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", metavar="FORMAT", help=_FORMAT_HELP, show_default=False),
    ] = None,
    template: Annotated[
        str | None, typer.Option("--template", metavar="NAME", help=_TEMPLATE_HELP)
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write here (replaced only once every label is made); {page} in the name "
            "numbers the files of png/svg pages. Default: stdout.",
        ),
    ] = None,
    printer: Annotated[
        str | None,
        typer.Option(
            "--printer",
            metavar="HOST[:PORT]",
            help="Send the ZPL to a Zebra printer's raw port (default port 9100).",
        ),
    ] = None,
    start_at: Annotated[
        int,
        typer.Option(
            "--start-at",
            metavar="N",
            help="Sheets: first free position on a half-used sheet, counted row by row "
            "from 1 (top left).",
        ),
    ] = 1,
    dpi: Annotated[
        int | None,
        typer.Option(
            "--dpi",
            metavar="N",
            help="Resolution of png (default 300) or of the Zebra printer for zpl (203, 300 "
            "or 600; default 203).",
        ),
    ] = None,
) -> None:
    """Make labels with a QR code, the tag, name and serial for each asset.

    The QR code holds the tag, or the URL of the label_url_template setting
    (https://inventory.example.com/a/{tag}). Any unknown REF: exit 3 and nothing written.
    """
    from assetctl.core.labels.service import label_request, make_labels

    state = get_state(ctx)
    settings = state.factory.settings.values
    request = label_request(
        _refs(refs, from_file),
        template=template or str(settings["label_template"]),
        output=output,
        out=out,
        printer=printer,
        start_at=start_at,
        url_template=str(settings["label_url_template"]),
        font=str(settings["label_font"]),
        dpi=dpi,
    )
    to_stdout = request.printer is None and out in (None, "-")
    if to_stdout and request.format.binary and state.io.out.isatty():
        raise InvalidInputError(
            f"not writing {request.format.name} to a terminal",
            hint="use --out FILE, or redirect stdout to a file or a program",
        )
    rendered = state.run(Effect.READ, make_labels, request)
    _deliver(state, request, rendered, None if to_stdout else out)


def _refs(refs: list[str] | None, from_file: str | None) -> list[str]:
    if from_file is None:
        return list(refs or [])
    if refs:
        raise InvalidInputError("give REFs or --from FILE, not both")
    from assetctl.cli.inputs import read_lines

    return [line for line in read_lines(from_file) if not line.lstrip().startswith("#")]


def _deliver(state: AppState, request: LabelRequest, rendered: Rendered, out: str | None) -> None:
    from assetctl.core.labels.output import page_paths, send_to_printer, write_files

    what = f"{rendered.labels} label{'s' if rendered.labels != 1 else ''}"
    pages = f"{rendered.pages} page{'s' if rendered.pages != 1 else ''}"
    if request.printer is not None:
        send_to_printer(request.printer, rendered.files[0])
        state.io.info(f"Sent {what} to the printer at {request.printer}.")
        return
    if out is not None:
        paths = page_paths(out, len(rendered.files), file_per_page=rendered.format.file_per_page)
        write_files(paths, rendered.files)
        where = paths[0] if len(paths) == 1 else f"{paths[0]} ... {paths[-1]}"
        state.io.info(f"Wrote {what} on {pages} ({request.template.name}) to {where}.")
        return
    if len(rendered.files) > 1:
        raise InvalidInputError(
            f"these labels make {pages}, one {rendered.format.name} file each; stdout takes one",
            hint="use --out 'labels-{page}." + rendered.format.name + "', or -o pdf",
        )
    stream = state.io.out
    stream.flush()
    stream.buffer.write(rendered.files[0])
    stream.buffer.flush()
