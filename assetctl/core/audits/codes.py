"""What a barcode scanner types, checked and read: a code is a tag, a serial, or the URL of
a label's QR code. Pure functions, no database.

A keyboard-style scanner types the code and Enter, so codes come one per line. A code is
the line without its line end and surrounding ASCII spaces; it must not be blank, hold a
control, format (bidi, zero-width) or other invisible character, or be longer than
`MAX_CODE` characters. Such a line is rejected (listed, never stored) and the scan goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_CODE = 2048


@dataclass(frozen=True)
class Rejected:
    """A line that is not a code, and why."""

    code: str
    reason: str


def check_code(raw: str) -> str | Rejected:
    """The code on one scanned line, or why it is not one."""
    line = raw.rstrip("\r\n")
    code = line.strip(" ")
    if not code:
        return Rejected(line, "blank")
    if len(code) > MAX_CODE:
        return Rejected(code[:80] + "...", f"longer than {MAX_CODE} characters")
    if not code.isprintable():
        # Bytes that are not UTF-8 arrive as lone surrogates (surrogateescape).
        if any("\udc80" <= ch <= "\udcff" for ch in code):
            return Rejected(code, "not valid UTF-8")
        return Rejected(code, "control or invisible characters")
    return code


def tags_in_url(code: str, template: str | None) -> list[str]:
    """The tags a label URL may name, best first: the `{tag}` part when the URL fits the
    label URL template, then the URL's last path segment (any label printer's URL); both
    percent-decoded. Empty for a code that is not an http(s) URL."""
    if not code.lower().startswith(("http://", "https://")):
        return []
    found: list[str] = []
    if template and template.count("{tag}") == 1:
        prefix, _, suffix = template.partition("{tag}")
        middle = len(code) - len(prefix) - len(suffix)
        if middle > 0 and code.startswith(prefix) and code.endswith(suffix):
            found.append(unquote(code[len(prefix) : len(code) - len(suffix)]))
    try:
        path = urlsplit(code).path
    except ValueError:  # e.g. an unbalanced IPv6 bracket: not a URL after all
        return found
    last = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    if last and last not in found:
        found.append(last)
    return [tag for tag in found if tag.isprintable()]
