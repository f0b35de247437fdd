"""`assetctl audit ...`: physical audits with a barcode scanner.

`scan` takes codes from its arguments, or from standard input one per line (a keyboard-style
scanner types a code and Enter). On a terminal it is an interactive loop with the running
found/expected count and a bell on an unknown code; from a pipe or a file, the lines are
recorded as they arrive (each read a transaction of its own), so a scanner streaming into a
pipe is recorded as it goes.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any, BinaryIO

import typer

from assetctl.cli.render import Output, OutputFormat, render_list, render_record, resolve_format
from assetctl.cli.state import AppState, Effect, get_state
from assetctl.errors import InvalidInputError

app = typer.Typer(help="Physical audits with a barcode scanner.", no_args_is_help=True)

AuditId = Annotated[int, typer.Argument(metavar="SESSION", help="The audit's id.")]
# The setting naming the URL a label's QR code carries (`https://inv.example.com/a/{tag}`).
URL_TEMPLATE_KEY = "label_url_template"
# A line longer than this (bytes) is cut off and rejected as too long, unread.
_MAX_LINE = 16 * 1024
SCAN_OUTPUT = ("line", "code", "result", "tag", "name", "location", "reason")
SCAN_COLUMNS = ("line", "result", "tag", "name", "code", "reason")


class AuditState(StrEnum):
    open = "open"
    closed = "closed"


class Result(StrEnum):
    found = "found"
    missing = "missing"
    unexpected = "unexpected"
    unknown = "unknown"


def _summary(audit: Mapping[str, Any]) -> str:
    return (
        f"Audit {audit['id']} at {audit['location']}: {audit['found']} of {audit['expected']} "
        f"found, {audit['missing']} missing, {audit['unexpected']} unexpected, "
        f"{audit['unknown']} unknown code{'s' if audit['unknown'] != 1 else ''}."
    )


@app.command()
def start(
    ctx: typer.Context,
    location: Annotated[str, typer.Option("--location", help="The location to audit.")],
    category: Annotated[
        str | None, typer.Option("--category", help="Only assets of this category.")
    ] = None,
    output: Output = None,
) -> None:
    """Open an audit of a location; prints its id. It expects every asset recorded there
    now (later moves do not change that)."""
    from assetctl.core.assets.fields import PARSERS
    from assetctl.core.audits.sessions import SESSION_FIELDS, start_audit

    state = get_state(ctx)
    where = PARSERS["location"](location)
    kind = PARSERS["category"](category) if category is not None else None
    audit = state.run(Effect.RECORD, start_audit, where, kind)
    what = f" {kind}" if kind else ""
    state.io.info(
        f"Audit {audit['id']} started at {audit['location']}: {audit['expected']}{what} "
        f"asset{'s' if audit['expected'] != 1 else ''} expected. "
        f"Scan with `assetctl audit scan {audit['id']}`."
    )
    if audit["expected"] == 0:
        state.io.warn(f"no{what} asset is recorded at {audit['location']}")
    fmt = resolve_format(state, output)
    if fmt == "plain":  # for `id=$(assetctl audit start ...)`
        print(audit["id"], file=state.io.out)
        return
    render_record(state, fmt, audit, fields=SESSION_FIELDS)


def _lines(stream: BinaryIO) -> Iterator[list[str]]:
    """Complete lines of `stream` as they arrive: each read's worth is one batch. A line
    longer than _MAX_LINE bytes is passed on cut short (to be rejected as too long) and the
    rest of it skipped, so memory stays bounded and no tail of it passes for a code."""
    pending, skipping = b"", False
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            break
        *complete, rest = (pending + chunk).split(b"\n")
        if skipping and complete:  # the end of the over-long line: drop what was left of it
            complete, skipping = complete[1:], False
        if skipping:
            rest = b""
        elif len(rest) > _MAX_LINE:
            complete.append(rest[:_MAX_LINE])
            rest, skipping = b"", True
        pending = rest
        if complete:
            yield [line.decode("utf-8", "surrogateescape") for line in complete]
    if pending:
        yield [pending.decode("utf-8", "surrogateescape")]


class _Scanning:
    """One `audit scan`: records batches of lines, each in its own transaction, and keeps
    the audit's latest counts and the rejected lines for the end."""

    def __init__(self, state: AppState, audit_id: int) -> None:
        self.state, self.audit_id = state, audit_id
        self.template = state.factory.settings.values.get(URL_TEMPLATE_KEY)
        self.audit: dict[str, Any] = {}
        self.rejected: list[dict[str, Any]] = []
        self.line = 0

    def record(self, lines: list[str]) -> list[dict[str, Any]]:
        from assetctl.core.audits.scanning import scan_codes

        batch = self.state.run(Effect.RECORD, scan_codes, self.audit_id, lines, self.template)
        self.audit = batch.audit
        rows = []
        for row in batch.rows:
            self.line += 1
            rows.append({"line": self.line, **row})
            if row["result"] == "rejected":
                self.rejected.append(rows[-1])
        return rows

    def rows(self, batches: Iterator[list[str]]) -> Iterator[dict[str, Any]]:
        for lines in batches:
            yield from self.record(lines)

    def finish(self) -> None:
        """The rejected lines and the counts on stderr; exit 2 if a line was rejected."""
        io = self.state.io
        for row in self.rejected:
            io.say(f"line {row['line']}: ignored {row['code']!r} ({row['reason']})")
        if self.audit:
            io.info(_summary(self.audit))
        if self.rejected:
            n = len(self.rejected)
            raise InvalidInputError(
                f"{n} line{'s were' if n != 1 else ' was'} not a code and ignored; the other "
                "codes were recorded",
                hint="a code is one line of printable text (no control characters)",
            )


@app.command()
def scan(
    ctx: typer.Context,
    audit_id: AuditId,
    codes: Annotated[
        list[str] | None,
        typer.Argument(metavar="CODE...", help="Tags, serials or label URLs; else stdin."),
    ] = None,
    output: Output = None,
) -> None:
    """Record scanned codes (tag, serial or label URL), from the arguments or one per line
    on stdin. On a terminal: an interactive loop with the running count (Ctrl-D ends it).
    Blank lines and lines with control characters are listed and ignored (exit 2 at the
    end, after the others are recorded)."""
    state = get_state(ctx)
    scanning = _Scanning(state, audit_id)
    if not codes and sys.stdin.isatty():
        _interactive(scanning, output)
    else:
        batches = iter([codes]) if codes else _lines(sys.stdin.buffer)
        # The first batch is recorded before any output, so an unknown or closed audit
        # fails with nothing on stdout; empty input still checks the audit.
        first = scanning.record(next(batches, []))
        rows = itertools.chain(first, scanning.rows(batches))
        fmt = resolve_format(state, output)
        render_list(state, fmt, rows, columns=SCAN_COLUMNS, fields=SCAN_OUTPUT)
    scanning.finish()


_SAID = {
    "found": "found {tag} {name}",
    "unexpected": "UNEXPECTED {tag} {name}: recorded at {location}",
    "again": "already found: {tag} {name}",
    "unknown": "UNKNOWN code '{code}'",
    "rejected": "ignored '{code}' ({reason})",
}


def _interactive(scanning: _Scanning, output: OutputFormat | None) -> None:
    """One code per line from the terminal, each recorded at once, with the running
    found/expected count after it and a bell on an unknown or rejected code."""
    from assetctl.json_values import visible

    state = scanning.state
    err = state.io.err
    scanning.record([])  # exit 3 / 6 before the first prompt
    state.io.say(f"{_summary(scanning.audit)} Scan codes, one per line; Ctrl-D ends.")
    rows = []
    while True:
        err.write(f"[{scanning.audit['found']}/{scanning.audit['expected']}] scan> ")
        err.flush()
        line = sys.stdin.readline()
        if not line:
            err.write("\n")
            break
        (row,) = scanning.record([line])
        bell = "\a" if row["result"] in ("unknown", "rejected") else ""
        said = _SAID[row["result"]].format(**{k: visible(str(v)) for k, v in row.items()})
        count = f"{scanning.audit['found']}/{scanning.audit['expected']}"
        err.write(f"{bell}{said}  ({count})\n")
        err.flush()
        rows.append(row)
    if output is not None:  # what a script asked for, in one piece once the scanning ends
        render_list(state, output.value, rows, columns=SCAN_COLUMNS, fields=SCAN_OUTPUT)


@app.command()
def status(
    ctx: typer.Context,
    audit_id: AuditId,
    only: Annotated[
        Result | None, typer.Option("--only", help="Only found, missing, unexpected or unknown.")
    ] = None,
    output: Output = None,
) -> None:
    """Found, missing and unexpected assets (known, but recorded elsewhere) and unknown
    codes of an audit."""
    from assetctl.core.audits.sessions import STATUS_COLUMNS, STATUS_FIELDS, audit_status

    state = get_state(ctx)
    audit, rows = state.run(Effect.READ, audit_status, audit_id, only.value if only else None)
    fmt = resolve_format(state, output)
    render_list(state, fmt, rows, columns=STATUS_COLUMNS, fields=STATUS_FIELDS,
                extra={"audit": audit})  # fmt: skip
    state.io.info(_summary(audit) + ("" if audit["status"] == "open" else " (closed)"))


@app.command()
def close(
    ctx: typer.Context,
    audit_id: AuditId,
    mark_missing: Annotated[
        str | None,
        typer.Option(
            "--mark-missing",
            metavar="STATUS",
            help="Give every missing asset this status, e.g. lost.",
        ),
    ] = None,
    move_found: Annotated[
        bool,
        typer.Option("--move-found", help="Move found assets recorded elsewhere to this location."),
    ] = False,
    output: Output = None,
) -> None:
    """Apply the outcome in one transaction and close the audit: every found asset gets
    last_audited_at and audited_by (with history)."""
    from assetctl.core.audits.closing import CLOSE_FIELDS, close_audit
    from assetctl.core.audits.sessions import SESSION_FIELDS

    state = get_state(ctx)
    result = state.run(
        Effect.DATA, close_audit, audit_id, mark_missing=mark_missing, move_found=move_found
    )
    state.io.info(
        f"Audit {result['id']} closed: {result['audited']} audited, {result['moved']} moved, "
        f"{result['marked']} marked {result['mark_missing'] or '-'}."
    )
    render_record(state, resolve_format(state, output), result,
                  fields=(*SESSION_FIELDS, *CLOSE_FIELDS))  # fmt: skip


@app.command("list")
def list_(
    ctx: typer.Context,
    state_: Annotated[
        AuditState | None, typer.Option("--status", help="Only open or closed audits.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, help="At most N.")] = 100,
    output: Output = None,
) -> None:
    """Audits, newest first, with their counts."""
    from assetctl.core.audits.sessions import SESSION_COLUMNS, SESSION_FIELDS, list_audits

    state = get_state(ctx)
    rows = state.run(Effect.READ, list_audits, state_.value if state_ else None, limit)
    render_list(state, resolve_format(state, output), rows, columns=SESSION_COLUMNS,
                fields=SESSION_FIELDS)  # fmt: skip
    if not rows:
        state.io.info("No audits.")
