"""What a label's QR code holds, and its modules.

The code holds the tag itself, or a URL made from the `label_url_template` setting with the
tag URL-quoted (so `A/1 ß` can never change the URL's path or host). Codes are made by
`segno` in byte mode with UTF-8 and error correction level M: byte mode with UTF-8 is what
Zebra's `^BQ` produces under `^CI28` too, so PDF, PNG, SVG and ZPL labels of one tag carry
the very same symbol, and decoders read non-ASCII tags back exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from assetctl.config_values import split_url

if TYPE_CHECKING:
    from collections.abc import Iterator

PLACEHOLDER = "{tag}"
ERROR_LEVEL = "M"
# Light modules around the symbol; the standard asks for 4, labels cannot spare that much
# and 2 is what every decoder we test reads reliably next to text.
QUIET_ZONE = 2


def parse_url_template(raw: object) -> str:
    """Config check of `label_url_template`: empty (the QR holds the tag), or an http(s) URL
    with a host and exactly one `{tag}`."""
    if not isinstance(raw, str):
        raise ValueError("expected a URL such as https://inventory.example.com/a/{tag}")
    text = raw.strip()
    if not text:
        return ""
    if text.count(PLACEHOLDER) != 1:
        raise ValueError("the URL must contain {tag} exactly once")
    rest = text.replace(PLACEHOLDER, "")
    if "{" in rest or "}" in rest:
        raise ValueError("the only placeholder a label URL takes is {tag}")
    if any(ord(c) < 33 or ord(c) == 127 for c in rest):
        raise ValueError("the URL must not contain spaces or control characters")
    parts = split_url(text.replace(PLACEHOLDER, "TAG"), show=True)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    if PLACEHOLDER in text.split("//", 1)[1].split("/", 1)[0]:
        raise ValueError("{tag} must come after the host, in the path or query")
    return text


def payload(tag: str, url_template: str) -> str:
    """What the QR code of `tag` holds."""
    if not url_template:
        return tag
    return url_template.replace(PLACEHOLDER, quote(tag, safe=""))


@dataclass(frozen=True)
class Symbol:
    """A QR code's dark modules, without the quiet zone."""

    size: int  # modules per side
    rows: tuple[tuple[bool, ...], ...]

    def runs(self) -> Iterator[tuple[int, int, int]]:
        """(row, first column, length) of each horizontal run of dark modules: one rectangle
        each keeps vector output small and free of hairline gaps between modules."""
        for y, row in enumerate(self.rows):
            x = 0
            while x < self.size:
                if row[x]:
                    start = x
                    while x < self.size and row[x]:
                        x += 1
                    yield y, start, x - start
                else:
                    x += 1


@functools.lru_cache(maxsize=4096)  # a repeated REF costs one encoding (~10 ms each)
def make_symbol(text: str) -> Symbol:
    """The QR code of `text` (byte mode, UTF-8, level M, never boosted, so the printer's
    `^BQ` picks the same version)."""
    import segno

    code = segno.make_qr(
        text, error=ERROR_LEVEL.lower(), mode="byte", encoding="utf-8", boost_error=False
    )
    rows = tuple(tuple(bool(m) for m in row) for row in code.matrix_iter(scale=1, border=0))
    return Symbol(len(rows), rows)
