"""The embedded OCR provider: text recognition in this process, no server.

It runs RapidOCR 1.4 (`rapidocr-onnxruntime`, the optional `ocr` extra): PaddleOCR's
PP-OCRv4 text detection and recognition models in ONNX form, shipped inside that wheel and
run by onnxruntime on the CPU. Nothing is downloaded, ever. It reads text; it does not
describe what a device is, so its "description" is the text it read, line by line.

The models are loaded once, when the provider is made (once per command), and every photo of
the command reuses them. Recognition runs one photo at a time: onnxruntime already spreads
one photo over every core, and parallel photos would only compete for them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assetctl.errors import ServiceUnavailableError
from assetctl.providers.base import ProviderCheck, ProviderConfig, VisionReply, VisionRequest

if TYPE_CHECKING:
    from collections.abc import Sequence

PACKAGE = "rapidocr_onnxruntime"
DISTRIBUTION = "rapidocr-onnxruntime"
INSTALL_HINT = (
    "install the OCR extra: pip install 'assetctl[ocr]' "
    "(in a source checkout: poetry install -E ocr); it needs Python 3.11 or 3.12"
)
MODELS = "PP-OCRv4"


@dataclass(frozen=True)
class TextLine:
    """One line of text as the model read it, with its confidence (0..1)."""

    text: str
    score: float


def _load_engine() -> Any:
    """RapidOCR with its packaged models, or ServiceUnavailableError (exit 7) saying how to
    install it."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] != PACKAGE:
            raise _broken(exc) from None
        raise ServiceUnavailableError(
            "the OCR provider is not installed", hint=INSTALL_HINT
        ) from None
    except ImportError as exc:  # installed, but a library it needs (onnxruntime, cv2) fails
        raise _broken(exc) from None
    try:
        return RapidOCR()
    except Exception as exc:  # noqa: BLE001 - any failure to load the packaged models
        raise ServiceUnavailableError(
            f"the OCR provider cannot load its models: {type(exc).__name__}: {exc}",
            hint=f"reinstall it: pip install --force-reinstall {DISTRIBUTION}",
        ) from None


def _broken(exc: ImportError) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"the OCR provider is installed but cannot be loaded: {exc}", hint=INSTALL_HINT
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # importable from a path, not installed as a distribution
        return "unknown version"


class OcrProvider:
    """A `VisionProvider` that reads text instead of asking a vision-language model."""

    # `describe --structured` builds its fields from the text (core/describe/identifiers.py)
    # instead of asking the provider for JSON.
    reads_text = True

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._engine = _load_engine()
        self.model = f"{DISTRIBUTION} {_version()} ({MODELS})"
        self._lock = threading.Lock()

    def read(self, image_jpeg: bytes) -> list[TextLine]:
        """The text lines of one normalised JPEG, top to bottom, left to right."""
        with self._lock:
            found, _elapsed = self._engine(image_jpeg)
        return _lines(found or ())

    def describe(self, request: VisionRequest) -> VisionReply:
        """The text read, one line per line of text; empty when the photo has none."""
        lines = self.read(request.image_jpeg)
        return VisionReply("\n".join(line.text for line in lines), self.model)

    def check(self) -> list[ProviderCheck]:
        return [
            ProviderCheck("provider", True, f"embedded OCR, no server ({self.model})"),
            ProviderCheck("model", True, f"{MODELS} text models loaded from the package"),
        ]

    def close(self) -> None:
        self._engine = None


def _lines(found: Sequence[Any]) -> list[TextLine]:
    """RapidOCR's `[box, text, score]` items as lines; blank ones dropped."""
    lines = []
    for item in found:
        text, score = str(item[1]).strip(), float(item[2])
        if text:
            lines.append(TextLine(text, round(score, 3)))
    return lines
