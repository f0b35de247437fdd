"""Ollama's native API: `POST /api/chat` with `images` as bare base64 (no data-URI prefix).

Reference: https://github.com/ollama/ollama/blob/main/docs/api.md ("Generate a chat
completion", "Show model information").
"""

from __future__ import annotations

import base64
from typing import Any

from assetctl.errors import AssetctlError
from assetctl.providers.base import (
    HttpProvider,
    ProviderCheck,
    VisionReply,
    VisionRequest,
)

# How long Ollama keeps the model in memory after a request: long enough to cover a batch.
KEEP_ALIVE = "10m"


class OllamaProvider(HttpProvider):
    def chat_body(self, request: VisionRequest) -> dict[str, Any]:
        """The exact request body (also used by the golden test against the official client)."""
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [
                {
                    "role": "user",
                    "content": request.prompt,
                    "images": [base64.b64encode(request.image_jpeg).decode("ascii")],
                }
            ],
            "stream": False,
            "options": {"temperature": request.temperature, "num_predict": request.max_tokens},
            "keep_alive": KEEP_ALIVE,
        }
        if request.schema is not None:
            body["format"] = dict(request.schema)
        return body

    def describe(self, request: VisionRequest) -> VisionReply:
        data = self._call("POST", "/api/chat", self.chat_body(request))
        message = data.get("message") if isinstance(data, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise self.bad_reply("no message.content")
        return self.reply(content, data.get("model"), truncated=data.get("done_reason") == "length")

    def check(self) -> list[ProviderCheck]:
        try:
            version = self._call("GET", "/api/version")
        except AssetctlError as exc:
            return [ProviderCheck("provider", False, exc.message)]
        number = version.get("version") if isinstance(version, dict) else None
        checks = [ProviderCheck("provider", True, f"{self.where} answers (Ollama {number})")]
        try:
            info = self._call("POST", "/api/show", {"model": self.config.model})
        except AssetctlError as exc:
            checks.append(ProviderCheck("model", False, f"{exc.message}; {exc.hint}"))
            return checks
        checks.append(ProviderCheck("model", True, f"{self.config.model} is available"))
        capabilities = info.get("capabilities") if isinstance(info, dict) else None
        if not isinstance(capabilities, list):
            checks.append(
                ProviderCheck("vision", None, "this Ollama does not report model capabilities")
            )
        elif "vision" in capabilities:
            checks.append(ProviderCheck("vision", True, f"{self.config.model} accepts images"))
        else:
            checks.append(
                ProviderCheck(
                    "vision",
                    False,
                    f"{self.config.model} does not accept images "
                    f"(capabilities: {', '.join(map(str, capabilities)) or 'none'})",
                )
            )
        return checks

    def _start_hint(self) -> str:
        return "start Ollama (`ollama serve`) or point --base-url / ASSETCTL_VLM_BASE_URL at it"

    def _missing_model_hint(self) -> str:
        return f"pull it first: `ollama pull {self.config.model}`, or choose another --model"
