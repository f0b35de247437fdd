"""Provider kinds: the class that speaks each wire protocol.

Adding a provider is one class implementing `base.VisionProvider` (usually an `HttpProvider`
subclass) and one entry in `PROVIDERS`; a preset in `presets.py` then names its kind. An
unknown kind is an error, never a silent fallback to another protocol.
"""

from __future__ import annotations

from collections.abc import Callable

from assetctl.errors import InvalidInputError
from assetctl.providers.base import ProviderConfig, VisionProvider
from assetctl.providers.ocr import OcrProvider
from assetctl.providers.ollama import OllamaProvider
from assetctl.providers.openai_compat import OpenAICompatProvider
from assetctl.providers.presets import OCR

PROVIDERS: dict[str, Callable[[ProviderConfig], VisionProvider]] = {
    "ollama": OllamaProvider,  # Ollama's native /api/chat
    "openai": OpenAICompatProvider,  # OpenAI-compatible /v1/chat/completions
    OCR: OcrProvider,  # embedded RapidOCR (the `ocr` extra), in this process
}


def provider_factory(kind: str) -> Callable[[ProviderConfig], VisionProvider]:
    """What builds a provider of `kind`; InvalidInputError (exit 2) for an unknown kind."""
    factory = PROVIDERS.get(kind)
    if factory is None:
        raise InvalidInputError(
            f"unknown vision-model provider kind {kind!r}",
            hint=f"known kinds: {', '.join(PROVIDERS)}",
        )
    return factory


def make_provider(config: ProviderConfig) -> VisionProvider:
    """The provider implementing `config.kind`."""
    return provider_factory(config.kind)(config)
