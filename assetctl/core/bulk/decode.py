"""Bytes of an import file -> lines of text, whatever wrote the file.

Spreadsheets save text in more ways than one: UTF-8 with or without a byte-order mark,
UTF-16 with one (Excel's "Unicode text"), a legacy code page (`--encoding cp1252`), and
line ends of LF, CRLF or a lone CR (Excel on a Mac). The stream is decoded a block at a time
(C loops) and split at any of the three line ends, so the CSV reader sees one physical line
per item and line numbers mean what an editor shows.

Bytes that are not valid in the encoding are each reported as a Problem naming the line and
the byte offset in the file, and decoding goes on, so every bad spot is listed at once. A
file holding NUL bytes in an 8-bit encoding is not text at all: refused at once.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from assetctl.core.bulk.reader import Problem

BLOCK_BYTES = 256 * 1024  # read and decoded at once; progress is reported per block
DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, with or without a byte-order mark
# Byte-order marks, longest first (UTF-32's starts with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# One line with its end (LF, CRLF or CR); the last line may have none.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_WIDE = ("utf-16", "utf-32")
_ENDS = re.compile(r"\r\n|\r|\n")


def check_encoding(name: str) -> str:
    """The codec's canonical name, or exit 2 naming the unknown encoding."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InvalidInputError(
            f"encoding {name!r} is not known",
            hint="use e.g. utf-8, utf-16, cp1252 or latin-1",
        ) from None


def sniff_encoding(head: bytes, requested: str | None) -> str:
    """The encoding to read with: the one asked for, else the byte-order mark's, else
    UTF-8. A BOM of the requested Unicode encoding is consumed by its codec."""
    if requested is not None:
        name = check_encoding(requested)
        return "utf-8-sig" if name == "utf-8" else name
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return DEFAULT_ENCODING


class Lines:
    """The decoded physical lines of a byte stream (each with its line end)."""

    def __init__(
        self,
        stream: BinaryIO,
        requested: str | None,
        problems: list[Problem],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.stream = stream
        self.requested = requested
        self.encoding = DEFAULT_ENCODING  # settled by the first block (its byte-order mark)
        self.problems = problems
        self.progress = progress
        self.lines = 0  # complete lines produced so far
        self.offset = 0  # bytes consumed so far

    def __iter__(self) -> Iterator[str]:
        read = self.stream.read
        block = read(BLOCK_BYTES)
        self.encoding = sniff_encoding(block[:4], self.requested)
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        wide = self.encoding.startswith(_WIDE)
        carry = ""  # an unfinished last line (or a CR that may be followed by LF)
        while True:
            if self.offset:
                block = read(BLOCK_BYTES)
            final = not block
            if not wide and self.offset == 0 and b"\x00" in block[:4096]:
                raise InvalidInputError(
                    "the file is binary (it holds NUL bytes), not CSV or JSON Lines text",
                    hint="export the sheet as CSV (or pass --encoding utf-16 for UTF-16 text)",
                )
            text = carry + self._decode(decoder, block, final, carry)
            self.offset += len(block)
            if self.progress is not None and block:
                self.progress(self.offset)
            lines = _LINE.findall(text)
            carry = ""
            if lines and not final:
                last = lines[-1]
                if not last.endswith("\n"):  # unfinished, or a CR whose LF may follow
                    carry = lines.pop()
            self.lines += len(lines)
            yield from lines
            if final:
                return

    def _decode(
        self, decoder: codecs.IncrementalDecoder, block: bytes, final: bool, carry: str
    ) -> str:
        try:
            return str(decoder.decode(block, final))
        except UnicodeDecodeError:
            pass
        # Decode again from the bytes the decoder held back, piece by piece past each bad
        # byte, recording one Problem per bad spot (the codec's state, e.g. UTF-16's byte
        # order, is kept across the pieces).
        pending, flag = decoder.getstate()
        data = pending + block
        base = self.offset - len(pending)  # file offset of data[0]
        pieces: list[str] = []
        start = 0
        while start < len(data):
            decoder.setstate((b"", flag))
            try:
                pieces.append(str(decoder.decode(data[start:], final)))
                return "".join(pieces)
            except UnicodeDecodeError as exc:
                at, end = start + exc.start, start + max(exc.end, exc.start + 1)
            decoder.setstate((b"", flag))
            pieces.append(str(decoder.decode(data[start:at], False)))
            self._bad(carry + "".join(pieces), data[at:end], base + at)
            pieces.append("\ufffd")
            start = end
        decoder.setstate((b"", flag))
        return "".join(pieces)

    def _bad(self, before: str, bad: bytes, offset: int) -> None:
        from assetctl.core.bulk.reader import Problem

        line = self.lines + 1 + len(_ENDS.findall(before))
        label = _label(self.encoding)
        self.problems.append(
            Problem(
                line,
                None,
                bad.hex(" "),
                f"line {line} is not valid {label}: byte 0x{bad[0]:02x} at byte offset "
                f"{offset} of the file (save the file as UTF-8, or pass the encoding it was "
                "saved in, e.g. --encoding cp1252)",
            )
        )


def _label(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8", "utf-8": "UTF-8"}.get(encoding, encoding)
