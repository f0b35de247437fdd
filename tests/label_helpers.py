"""Reading labels back as a scanner would: QR codes decoded by a real decoder (zxing-cpp)
from PNG pages, from PDF pages rendered by PDFium, and from SVG paths drawn with Pillow; ZPL
parsed back into its QR payloads; and a raw printer port on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def decode_image(image: Any) -> list[str]:
    """Every barcode zxing-cpp finds in a Pillow image, left to right, top to bottom."""
    import zxingcpp

    found = zxingcpp.read_barcodes(image)
    assert all(b.format == zxingcpp.BarcodeFormat.QRCode for b in found), found
    ordered = sorted(found, key=lambda b: (b.position.top_left.y // 50, b.position.top_left.x))
    return [b.text for b in ordered]


def decode_png(path: Path, dpi: int = 300) -> list[str]:
    from PIL import Image

    with Image.open(path) as image:
        assert image.info.get("dpi") is not None and round(image.info["dpi"][0]) == dpi
        return decode_image(image.convert("L"))


def pdf_pages(path: Path) -> list[Any]:
    """Each page of a PDF rendered at 300 dpi."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    return [page.render(scale=300 / 72).to_pil() for page in document]


def decode_pdf(path: Path) -> list[list[str]]:
    return [decode_image(page) for page in pdf_pages(path)]


def pdf_text_and_objects(path: Path) -> tuple[list[str], set[int]]:
    """The text of each page, and the kinds of page objects the PDF holds."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    texts, kinds = [], set()
    for page in document:
        texts.append(page.get_textpage().get_text_bounded())
        kinds |= {obj.type for obj in page.get_objects()}
    return texts, kinds


def decode_svg(data: bytes) -> list[str]:
    """Parse the SVG as XML and draw every QR path (only M, h, v, z) at 12 px/mm."""
    import xml.etree.ElementTree as ET

    from PIL import Image, ImageDraw

    root = ET.fromstring(data)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    _x, _y, width, height = (float(v) for v in root.attrib["viewBox"].split())
    scale = 12
    image = Image.new("L", (round(width * scale), round(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    paths = [p for p in root.iter(f"{ns}path") if p.attrib.get("class") == "qr"]
    assert paths
    for path in paths:
        for x, y, w, h in re.findall(
            r"M([\d.]+) ([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+z", path.attrib["d"]
        ):
            x0, y0 = float(x) * scale, float(y) * scale
            draw.rectangle(
                (round(x0), round(y0), round(x0 + float(w) * scale) - 1,
                 round(y0 + float(h) * scale) - 1), fill=0,
            )  # fmt: skip
    return decode_image(image)


_BQ = re.compile(r"\^BQN,2,(\d+),M\n\^FH_\^FD([HQML])M,B(\d{4})([^\^]*)\^FS")


def unhex(field_data: str) -> bytes:
    """`^FH_` field data back to its bytes."""
    out = bytearray()
    i = 0
    while i < len(field_data):
        if field_data[i] == "_":
            out.append(int(field_data[i + 1 : i + 3], 16))
            i += 3
        else:
            out += field_data[i].encode("ascii")
            i += 1
    return bytes(out)


def zpl_labels(zpl: str) -> list[dict[str, Any]]:
    """Each `^XA...^XZ` format: whether it selects UTF-8 before any field, its QR payload
    (checked against its byte count) and its text fields."""
    labels = []
    for body in re.findall(r"\^XA(.*?)\^XZ", zpl, flags=re.S):
        first_field = body.index("^FD")
        utf8 = "^CI28" in body[:first_field]
        (qr,) = _BQ.findall(body)
        _mag, level, count, data = qr
        payload = unhex(data)
        assert int(count) == len(payload), (count, payload)
        texts = [
            unhex(t).decode("utf-8")
            for t in re.findall(r"\^A0N,\d+,\d+\^FH_\^FD([^\^]*)\^FS", body)
        ]
        (qr_x,) = re.findall(r"\^FO(\d+),\d+\n\^BQ", body)
        geometry = {
            "width": int(re.findall(r"\^PW(\d+)", body)[0]),
            "qr_x": int(qr_x),
            "magnification": int(_mag),
            "text_x": [int(x) for x in re.findall(r"\^FT(\d+),\d+\^A0N", body)],
        }
        labels.append(
            {
                "utf8": utf8,
                "level": level,
                "qr": payload.decode("utf-8"),
                "texts": texts,
                **geometry,
            }
        )
    return labels


@dataclass
class RawPrinter:
    """A raw port-9100 print server on 127.0.0.1: keeps what each connection sent."""

    jobs: list[bytes] = field(default_factory=list)
    reset_after: int | None = None  # read this many bytes, then reset the connection
    receive_buffer: int | None = None

    def __post_init__(self) -> None:
        self.server = socket.socket()
        if self.receive_buffer:
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.server.settimeout(120)  # the CLI starts and renders first (slow under coverage)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            data = b""
            while True:
                chunk = conn.recv(1 if self.reset_after is not None else 65536)
                if not chunk:
                    break
                data += chunk
                if self.reset_after is not None and len(data) >= self.reset_after:
                    import struct

                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
            self.jobs.append(data)

    def close(self) -> None:
        self.thread.join(timeout=15)
        self.server.close()


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
