"""Where rendered labels go: files written all-or-nothing (temporary files renamed into
place, so an existing file is never truncated by a failed run), or raw ZPL sent to a label
printer's port 9100 with timeouts, never reporting a partial send as success."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assetctl.errors import InvalidInputError, ServiceUnavailableError

if TYPE_CHECKING:
    import socket

PAGE = "{page}"
PRINTER_PORT = 9100
CONNECT_TIMEOUT_S = 5.0
SEND_TIMEOUT_S = 30.0


def page_paths(out: str, pages: int, *, file_per_page: bool) -> list[str]:
    """The file of each page: `--out` itself, or with `{page}` numbered 1, 2, ... (zero-padded
    so they sort) when every page is its own file."""
    if not file_per_page:
        if PAGE in out:
            raise InvalidInputError(
                f"{PAGE} in --out numbers the files of png and svg pages; this format writes "
                "every page to one file",
                hint="give --out a plain file name",
            )
        return [out]
    if pages == 1:
        return [out.replace(PAGE, "1")]
    if PAGE not in out:
        raise InvalidInputError(
            f"these labels make {pages} pages, one file each; --out needs {PAGE} in its name",
            hint=f"e.g. --out 'labels-{PAGE}.png', or use -o pdf for one file",
        )
    width = len(str(pages))
    return [out.replace(PAGE, f"{n:0{width}d}") for n in range(1, pages + 1)]


def write_files(paths: Sequence[str], contents: Sequence[bytes]) -> None:
    """Write every file or none: each goes to a temporary file beside it first, and all are
    renamed into place only once all are written."""
    import tempfile

    temps: list[str] = []
    path = paths[0] if paths else ""
    replaced = 0
    try:
        for path, data in zip(paths, contents, strict=True):
            directory = os.path.dirname(os.path.abspath(path))
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".assetctl-label-")
            temps.append(temp)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # mkstemp makes 0600; a label file is an ordinary file (the umask decides).
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
        for temp, target in zip(temps, paths, strict=True):
            path = target
            os.replace(temp, target)
            replaced += 1
    except OSError as exc:
        for temp in temps:
            if os.path.exists(temp):
                os.unlink(temp)
        done = f"{replaced} of {len(paths)} files were" if replaced else "no label file was"
        raise InvalidInputError(
            f"cannot write {path}: {exc.strerror or exc}; {done} written",
            hint="check that the directory exists and is writable",
        ) from None


@dataclass(frozen=True)
class Printer:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_printer(raw: str) -> Printer:
    """`HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT`; the port defaults to 9100."""
    text = raw.strip()
    host, colon, port_text = text, "", ""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            host = ""
        colon, port_text = rest[:1], rest[1:]
    elif text.count(":") == 1:
        host, colon, port_text = text.partition(":")
    if (
        not host
        or any(c.isspace() for c in host)
        or (colon and not port_text)
        or not _port_ok(port_text)
    ):
        raise InvalidInputError(
            f"--printer {raw!r} is not HOST[:PORT]",
            hint="e.g. --printer zebra1.example.com or --printer 10.0.0.7:9100",
        )
    return Printer(host, int(port_text) if port_text else PRINTER_PORT)


def _port_ok(text: str) -> bool:
    return not text or (text.isascii() and text.isdigit() and 0 < int(text) < 65536)


def send_to_printer(printer: Printer, data: bytes) -> None:
    """Send raw ZPL; exit 7 naming the printer when it cannot be reached or the send does
    not complete (saying how much got through, since a printer may have started)."""
    import socket

    try:
        connection = socket.create_connection(
            (printer.host, printer.port), timeout=CONNECT_TIMEOUT_S
        )
    except OSError as exc:
        raise ServiceUnavailableError(
            f"cannot reach the printer at {printer}: {_reason(exc)}; nothing was sent",
            hint="check the printer's address and that it is on and accepts raw jobs on that port",
        ) from None
    sent = 0
    with connection:
        try:
            connection.settimeout(SEND_TIMEOUT_S)
            view = memoryview(data)
            while sent < len(data):
                sent += connection.send(view[sent:])
            _await_delivery(connection)
        except OSError as exc:
            raise ServiceUnavailableError(
                f"sending to the printer at {printer} failed after {sent} of {len(data)} "
                f"bytes: {_reason(exc)}; the labels may be printed only in part",
                hint="check the printer, then print the labels again",
            ) from None


def _await_delivery(connection: socket.socket) -> None:
    """Return once the printer has every byte: it acknowledged them all (Linux tells how
    many are outstanding) or closed the connection; a send() that returned only means the
    bytes reached our own buffer. Times out after SEND_TIMEOUT_S."""
    import socket
    import time

    connection.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + SEND_TIMEOUT_S
    while _unacknowledged(connection):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        connection.settimeout(min(0.1, remaining))
        try:
            if not connection.recv(4096):
                return  # the printer closed its side after reading everything
        except TimeoutError:
            continue


def _unacknowledged(connection: socket.socket) -> int:
    """Bytes sent but not yet acknowledged by the peer (0 where the OS cannot tell)."""
    try:
        import fcntl
        import struct
        import termios

        raw = fcntl.ioctl(connection.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        return int(struct.unpack("i", raw)[0])
    except (ImportError, OSError, AttributeError):
        return 0


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    import socket

    if isinstance(exc, socket.gaierror):
        return "unknown host"
    return exc.strerror or type(exc).__name__
