"""Provider presets by name: which wire protocol, and where the server usually listens.

Pure data plus a factory; importing this module costs nothing (the settings parser uses it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assetctl.providers.base import ProviderConfig, VisionProvider


@dataclass(frozen=True)
class Preset:
    name: str
    kind: str  # "ollama" (native API) or "openai" (OpenAI-compatible chat completions)
    base_url: str
    label: str


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("ollama", "ollama", "http://127.0.0.1:11434", "Ollama (native /api/chat)"),
        Preset("lmstudio", "openai", "http://127.0.0.1:1234/v1", "LM Studio"),
        Preset("llamacpp", "openai", "http://127.0.0.1:8080/v1", "llama.cpp llama-server"),
        Preset("vllm", "openai", "http://127.0.0.1:8000/v1", "vLLM"),
        Preset("openai", "openai", "https://api.openai.com/v1", "OpenAI or any compatible API"),
    )
}


def make_provider(config: ProviderConfig) -> VisionProvider:
    """The provider implementing `config.kind`."""
    if config.kind == "ollama":
        from assetctl.providers.ollama import OllamaProvider

        return OllamaProvider(config)
    from assetctl.providers.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(config)
