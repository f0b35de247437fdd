"""Provider presets by name: which wire protocol (the provider kind) and where the server
usually listens.

A leaf module, pure data: the settings parser reads the names from here without importing any
provider code, and the providers never import the settings through it.
"""

from __future__ import annotations

from dataclasses import dataclass

# The kind (and preset) of the embedded text-recognition provider, which reads text rather
# than describing the photo: `describe --save` refuses it, `asset add --from-photo` uses it.
OCR = "ocr"


@dataclass(frozen=True)
class Preset:
    name: str
    kind: str  # a key of `providers.registry.PROVIDERS`: the wire protocol spoken
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
        # Runs in this process (the `ocr` extra): no server, so no address.
        Preset(OCR, OCR, "", "embedded OCR (RapidOCR, reads text only)"),
    )
}


def preset_names() -> str:
    """`ollama, lmstudio, llamacpp, vllm or openai`: the presets as help texts list them."""
    *first, last = PRESETS
    return f"{', '.join(first)} or {last}"


def parse_preset_name(raw: object) -> str:
    """The `vlm_provider` setting: a preset name, case-insensitive."""
    name = raw.strip().lower() if isinstance(raw, str) else ""
    if name not in PRESETS:
        raise ValueError(f"expected one of {', '.join(PRESETS)}")
    return name
