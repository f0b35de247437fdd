"""Photo normalisation for the vision model, entirely in memory.

The type is detected from the content, never the file name. Pillow applies the EXIF
orientation, converts to RGB (transparency onto white), bounds the longest edge and re-encodes
as JPEG without metadata, so GPS positions and camera serials never leave the machine. Nothing
is written to disk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assetctl import config_specs
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

SUPPORTED = "JPEG, PNG, WebP, GIF, BMP or TIFF"
# Extensions a directory scan picks up; the content decides the real type afterwards.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic",
     ".heif", ".avif"}
)  # fmt: skip
# ISO base media brands of HEIF/AVIF files (bytes 8..12 after `ftyp`).
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
JPEG_QUALITY = 90
# Freed image buffers Pillow keeps per preparing thread: a camera photo needs about three
# (the decoded frame, the half-resized one, the result), 7 to 12 MB each.
_BUFFERS_PER_WORKER = 4
# The default of the image_max_pixels setting (declared with it, so loading the settings
# does not import this module).
DEFAULT_MAX_PIXELS = config_specs.DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class PreparedImage:
    jpeg: bytes
    width: int
    height: int
    source_format: str


def sniff(head: bytes) -> str | None:
    """The image type from the first bytes: jpeg, png, webp, gif, bmp, tiff, heic, avif."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        if head[8:12] in _HEIF_BRANDS:
            return "heic"
        if head[8:12] in _AVIF_BRANDS:
            return "avif"
    return None


_PIL_FORMATS = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "bmp": "BMP",
    "tiff": "TIFF",
}


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, after checking it exists, is a regular file and is within the limit."""
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInputError(f"{name}: no such file", hint="check the path") from None
    except OSError as exc:
        raise InvalidInputError(f"{name}: cannot read ({exc.strerror})") from None
    if not path.is_file():
        raise InvalidInputError(f"{name}: not a regular file")
    if size == 0:
        raise InvalidInputError(f"{name}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise _too_large(name, size, max_bytes)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidInputError(f"{name}: cannot read ({exc.strerror})") from None
    if len(data) > max_bytes:  # grew since stat
        raise _too_large(name, len(data), max_bytes)
    return data


def _too_large(name: str, size: int, limit: int) -> InvalidInputError:
    return InvalidInputError(
        f"{name}: {_human(size)} is over the limit of {_human(limit)}",
        hint="shrink the photo, or raise image_max_bytes (ASSETCTL_IMAGE_MAX_BYTES)",
    )


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size} bytes"


def reuse_buffers(workers: int) -> None:
    """Let Pillow keep freed image buffers for the next photo instead of returning them to
    the OS (its documented block cache, off by default).

    Without it every photo's multi-megabyte buffers are fresh memory that the kernel must
    fault in page by page: about a third of the CPU time of a batch of camera photos. A
    `PILLOW_BLOCKS_MAX` set by the user wins.
    """
    import os

    if "PILLOW_BLOCKS_MAX" in os.environ:
        return
    # The C module the environment variable is applied through (PIL.Image does the same).
    from PIL import _imaging

    _imaging.set_blocks_max(_BUFFERS_PER_WORKER * max(1, workers))


def limit_pixels() -> None:
    """Leave the decompression-bomb check to `_check_pixels`, which applies the configured
    limit with the image's size in its message. Pillow's own check looks at the same header
    size in `Image.open`, but at its fixed limit, and with a warning on stderr below that."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None


def prepare_image(
    path: Path, *, max_bytes: int, max_edge: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> PreparedImage:
    """Read, validate and normalise one photo into JPEG bytes for the model.

    Raises InvalidInputError (exit 2) naming the file for a missing, empty, oversized,
    unsupported, truncated or corrupt file, or one with more than `max_pixels` pixels.
    """
    data = read_limited(path, max_bytes)
    return normalise(data, name=str(path), max_edge=max_edge, max_pixels=max_pixels)


def _check_pixels(name: str, size: tuple[int, int], max_pixels: int) -> None:
    """Refuse an image by the size its header declares, before a byte of it is decoded: a
    140 KB PNG can declare 12000x12000 pixels and cost 830 MB to decode."""
    width, height = size
    if width * height > max_pixels:
        raise InvalidInputError(
            f"{name}: {width}x{height} pixels ({width * height / 1e6:.1f} MP) is over the "
            f"limit of {max_pixels / 1e6:.1f} MP",
            hint="shrink the photo, or raise image_max_pixels (ASSETCTL_IMAGE_MAX_PIXELS)",
        )


def normalise(
    data: bytes, *, name: str, max_edge: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> PreparedImage:
    """Turn image bytes into a bounded, upright, metadata-free RGB JPEG."""
    kind = sniff(data[:32])
    if kind in ("heic", "avif"):
        raise InvalidInputError(
            f"{name}: {kind.upper()} photos are not supported",
            hint=f"convert it to JPEG first (e.g. `heif-convert` or the phone's export); "
            f"supported: {SUPPORTED}",
        )
    if kind is None:
        what = "text" if _looks_like_text(data[:512]) else "not an image"
        raise InvalidInputError(
            f"{name}: not a supported image (the content is {what})",
            hint=f"supported: {SUPPORTED}",
        )

    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]]) as opened:
            _check_pixels(name, opened.size, max_pixels)
            if kind == "jpeg":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: several times faster for
                # camera photos. The box must be the final size, aspect kept: a square box
                # larger than the short edge would make libjpeg decode at full size.
                scale = min(1.0, max_edge / max(opened.size))
                box = (max(1, round(opened.width * scale)), max(1, round(opened.height * scale)))
                opened.draft("RGB", box)
            opened.load()
            # In place: a copy of a decoded photo costs as much as a resize of it.
            ImageOps.exif_transpose(opened, in_place=True)
            image = _to_rgb(opened)
    except Image.DecompressionBombError:
        # Pillow's own guard, when `limit_pixels` has not replaced it.
        raise InvalidInputError(
            f"{name}: the image has too many pixels to decode safely",
            hint="shrink the photo, or raise image_max_pixels (ASSETCTL_IMAGE_MAX_PIXELS)",
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "corrupt or unreadable"
        raise InvalidInputError(
            f"{name}: the {kind.upper()} image is {reason}",
            hint="copy the photo again from the camera or phone",
        ) from None
    # BILINEAR in Pillow is an antialiased triangle filter scaled to the ratio; after the
    # JPEG draft the rest is a reduction under 2x, where it looks like LANCZOS to the model
    # at half the CPU (the dominant cost of a batch; see benchmarks/README.md).
    image.thumbnail((max_edge, max_edge), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return PreparedImage(out.getvalue(), image.width, image.height, kind)


def _to_rgb(image: PILImage) -> PILImage:
    from PIL import Image

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float greyscale: scale into 8 bits before RGB conversion clips it.
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(b >= 32 or b in (9, 10, 13) for b in head)
