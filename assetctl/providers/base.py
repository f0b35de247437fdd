"""The one small interface every vision-model provider implements, and the shared HTTP plumbing.

A provider turns one normalised JPEG plus a prompt into text. It raises
`ServiceUnavailableError` (exit 7) for everything that goes wrong on the server's side, with a
message naming the server; `ProviderUnreachableError` marks the cases (connection refused,
timeout) where sending more files to the same server is pointless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from assetctl.config_values import mask_url
from assetctl.errors import ServiceUnavailableError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# Connecting to a local server is instant or hopeless; reading may wait for a cold model load.
CONNECT_TIMEOUT = 5.0
UNTRUSTED = "its TLS certificate is not trusted"
TLS_HINT = "trust the server's CA: add it to the system store, or set SSL_CERT_FILE to it"


class ProviderUnreachableError(ServiceUnavailableError):
    """The server refused the connection or did not answer in time."""


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to talk to one server. `api_key` is never logged or shown."""

    preset: str
    kind: str
    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    timeout: float = 300.0
    max_connections: int = 4

    @property
    def display_url(self) -> str:
        return mask_url(self.base_url)


@dataclass(frozen=True)
class VisionRequest:
    prompt: str
    image_jpeg: bytes
    # A JSON schema asks the server for structured output (Ollama `format`, OpenAI
    # `response_format`); None asks for plain text.
    schema: Mapping[str, Any] | None = None
    max_tokens: int = 512
    temperature: float = 0.1


@dataclass(frozen=True)
class VisionReply:
    text: str
    model: str
    # The server stopped at the token limit (`done_reason`/`finish_reason` "length").
    truncated: bool = False


@dataclass(frozen=True)
class ProviderCheck:
    """One line of `describe --check` / `doctor`: ok is True, False, or None (not known)."""

    name: str
    ok: bool | None
    detail: str


class VisionProvider(Protocol):
    config: ProviderConfig
    # True for a provider that reads the text in the photo (OCR) rather than describing it:
    # its structured fields are derived from that text, not asked for as JSON.
    reads_text: bool

    def describe(self, request: VisionRequest) -> VisionReply:
        """Send one image and prompt; return the model's text."""
        ...

    def check(self) -> list[ProviderCheck]:
        """Does the server answer, does the model exist, does it accept images."""
        ...

    def close(self) -> None: ...


class HttpProvider:
    """Shared HTTP client handling: timeouts, error shapes, secret-free messages."""

    label = "provider"
    reads_text = False

    def __init__(self, config: ProviderConfig) -> None:
        import httpx

        self.config = config
        headers = {"Accept": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self._client = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(config.timeout, connect=min(CONNECT_TIMEOUT, config.timeout)),
            limits=httpx.Limits(max_connections=max(config.max_connections, 1)),
            # Certificates are verified for an https:// server. A plain http:// one (every
            # local preset) never uses TLS, since requests stay on the base URL and redirects
            # are not followed, so it skips loading the CA bundle: ~60 ms per command.
            verify=config.base_url.lower().startswith("https://"),
            follow_redirects=False,
        )

    @property
    def where(self) -> str:
        return f"{self.config.preset} at {self.config.display_url}"

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One request; returns the decoded JSON body or raises a typed error."""
        import httpx

        log.debug("%s %s%s (model %s)", method, self.config.display_url, path, self.config.model)
        try:
            response = self._client.request(method, path, json=body)
        except httpx.TimeoutException as exc:
            phase = "connect" if isinstance(exc, httpx.ConnectTimeout) else "answer"
            raise ProviderUnreachableError(
                f"{self.where} did not {phase} within {self._limit(phase)} s",
                hint="a cold model load can take minutes; raise vlm_timeout "
                "(--timeout or ASSETCTL_VLM_TIMEOUT) or check the server",
            ) from None
        except httpx.TransportError as exc:
            reason = _reason(exc)
            raise ProviderUnreachableError(
                f"cannot connect to {self.where}: {reason}",
                hint=TLS_HINT if reason.startswith(UNTRUSTED) else self._start_hint(),
            ) from None
        if response.status_code >= 400:
            raise self._http_error(response)
        text = response.text
        if not text.strip():
            raise ServiceUnavailableError(
                f"{self.where} returned an empty response (HTTP {response.status_code})",
                hint="check the server's log; is this really an API endpoint?",
            )
        try:
            return json.loads(text)
        except ValueError:
            raise ServiceUnavailableError(
                f"{self.where} returned a response that is not JSON: {_excerpt(text)}",
                hint="check --base-url: it must be the API root of the server",
            ) from None

    def _limit(self, phase: str) -> float:
        if phase == "connect":
            return min(CONNECT_TIMEOUT, self.config.timeout)
        return self.config.timeout

    def _start_hint(self) -> str:
        return "start the server or point --base-url / ASSETCTL_VLM_BASE_URL at it"

    def _http_error(self, response: httpx.Response) -> ServiceUnavailableError:
        message = server_message(response.text)
        status = response.status_code
        detail = f": {message}" if message else ""
        if status in (401, 403):
            return ServiceUnavailableError(
                f"{self.where} rejected the request (HTTP {status}){detail}",
                hint="check the API key (ASSETCTL_VLM_API_KEY or vlm_api_key in the config)",
            )
        if status == 404:
            return ServiceUnavailableError(
                f"{self.where} (HTTP 404){detail or ': not found'}",
                hint=self._missing_model_hint(),
            )
        return ServiceUnavailableError(
            f"{self.where} failed (HTTP {status}){detail}",
            hint="see the server's log; a model too large for the machine's memory is a "
            "common cause",
        )

    def _missing_model_hint(self) -> str:
        return f"check that model {self.config.model!r} is available on the server"

    def reply(self, content: str, model: object, *, truncated: bool) -> VisionReply:
        """The reply from a well-formed answer: text stripped and non-empty, and the model
        the server says answered (else the one asked for)."""
        if not content.strip():
            raise self.bad_reply("the model returned an empty message")
        return VisionReply(
            text=content.strip(),
            model=model if isinstance(model, str) and model else self.config.model,
            truncated=truncated,
        )

    def bad_reply(self, what: str) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            f"{self.where} returned a malformed response: {what}",
            hint="check that --base-url points at the right kind of server (--provider)",
        )


def server_message(text: str) -> str:
    """The error message of a body in any of the documented shapes: Ollama
    `{"error": "..."}`, OpenAI `{"error": {"message": "..."}}`, LM Studio's bare string, or
    plain text."""
    stripped = text.strip()
    if not stripped:
        return ""
    try:
        data = json.loads(stripped)
    except ValueError:
        return _excerpt(stripped)
    if isinstance(data, str):
        return _excerpt(data)
    if isinstance(data, dict):
        error = data.get("error", data.get("message", data.get("detail")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if isinstance(error, str):
            return _excerpt(error)
        if error is not None:
            return _excerpt(json.dumps(error))
    return _excerpt(stripped)


def _excerpt(text: str, limit: int = 300) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "certificate_verify_failed" in lowered:
        # "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: <why> (_ssl.c:1006)"
        why = text.rpartition("certificate verify failed: ")[2].split(" (_ssl.c")[0]
        return f"{UNTRUSTED} ({why})"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "unknown host name"
    return _excerpt(text, 160)
