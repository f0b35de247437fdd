"""OpenAI-compatible servers (OpenAI, LM Studio, llama.cpp `llama-server`, vLLM):
`POST {base}/chat/completions` with the image as a data-URI `image_url` content part.

Reference: https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

import base64
from typing import Any

from assetctl.errors import AssetctlError
from assetctl.providers.base import HttpProvider, ProviderCheck, VisionReply, VisionRequest


class OpenAICompatProvider(HttpProvider):
    def chat_body(self, request: VisionRequest) -> dict[str, Any]:
        """The exact request body (also used by the golden test against the official client)."""
        data_uri = "data:image/jpeg;base64," + base64.b64encode(request.image_jpeg).decode("ascii")
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": request.prompt},
                        {"type": "image_url", "image_url": {"url": data_uri}},
                    ],
                }
            ],
            # Always sent: some servers default to a tiny limit or a creative temperature.
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "asset_description",
                    "schema": dict(request.schema),
                    "strict": True,
                },
            }
        return body

    def describe(self, request: VisionRequest) -> VisionReply:
        data = self._call("POST", "/chat/completions", self.chat_body(request))
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self.bad_reply("no choices")
        choice = choices[0]
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if not isinstance(content, str):
            refusal = message.get("refusal") if isinstance(message, dict) else None
            if isinstance(refusal, str) and refusal:
                raise self.bad_reply(f"the model refused: {refusal}")
            raise self.bad_reply("no choices[0].message.content")
        truncated = choice.get("finish_reason") == "length"
        return self.reply(content, data.get("model"), truncated=truncated)

    def check(self) -> list[ProviderCheck]:
        try:
            listing = self._call("GET", "/models")
        except AssetctlError as exc:
            return [ProviderCheck("provider", False, exc.message)]
        checks = [ProviderCheck("provider", True, f"{self.where} answers")]
        entries = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(entries, list):
            checks.append(ProviderCheck("model", None, "the server does not list its models"))
        else:
            ids = [str(e.get("id")) for e in entries if isinstance(e, dict) and "id" in e]
            if self.config.model in ids:
                checks.append(ProviderCheck("model", True, f"{self.config.model} is available"))
            else:
                offered = ", ".join(ids[:10]) or "none"
                checks.append(
                    ProviderCheck(
                        "model",
                        False,
                        f"{self.where} does not offer model {self.config.model!r} "
                        f"(offered: {offered}); choose one with --model or ASSETCTL_VLM_MODEL",
                    )
                )
        checks.append(
            ProviderCheck(
                "vision",
                None,
                "OpenAI-compatible servers do not report whether a model "
                "accepts images; try `assetctl describe` on a photo",
            )
        )
        return checks
