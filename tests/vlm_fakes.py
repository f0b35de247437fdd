"""Fake vision-model servers on 127.0.0.1 for the `describe` tests and benchmark.

`FakeOllama` speaks Ollama's native API (`/api/chat`, `/api/show`, `/api/version`);
`FakeOpenAI` the OpenAI chat-completions API (`/v1/chat/completions`, `/v1/models`). Both
validate requests strictly against the documented shapes and answer a bad request with
HTTP 400 in the server's own error shape, so a provider that sends something a real server
would reject fails its tests. Replies are scriptable (`reply`), including the documented
error bodies, slow answers (`latency`) and a hanging endpoint (`hang`).

Ollama: https://github.com/ollama/ollama/blob/main/docs/api.md
OpenAI: https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest

DESCRIPTION = "A black Lenovo ThinkPad laptop in good condition; asset tag LAP-0042 visible."
STRUCTURED = {
    "category": "laptop",
    "brand": "Lenovo",
    "model": "ThinkPad T14",
    "color": "black",
    "condition": "good",
    "visible_damage": "none",
    "visible_identifiers": ["LAP-0042"],
    "description": DESCRIPTION,
}


class BadRequest(Exception):
    """The request does not follow the documented API."""


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    # (width, height) of each image the request carried, decoded with Pillow.
    image_sizes: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    content_type: str = "application/json"


ReplyFn = Callable[[Captured], Reply | None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # The real servers set TCP_NODELAY (Go's net/http behind Ollama, uvicorn behind vLLM).
    # Without it the body written after the headers waits for the client's delayed ACK:
    # 40 ms added to every answer, which is not the provider's and not ours.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        captured = Captured(method, self.path, headers, None)
        try:
            if raw:
                if not headers.get("content-type", "").startswith("application/json"):
                    raise BadRequest("Content-Type must be application/json")
                try:
                    captured.body = json.loads(raw)
                except ValueError:
                    raise BadRequest("request body is not JSON") from None
            reply = fake.route(captured)
        except BadRequest as exc:
            fake.record(captured)
            reply = fake.bad_request(str(exc))
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, bytes):
            data = reply.body
        elif reply.body is None:
            data = b""
        else:
            data = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)


class FakeServer:
    """Common machinery: a threaded HTTP server, captured requests, scripted replies."""

    models: tuple[str, ...] = ("smolvlm2",)

    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self.reply: ReplyFn | None = None
        self.latency = 0.0
        self.hang = False
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: threading.Barrier | None = None
        # Decode every image fully (tests); the benchmark only parses the header, because a
        # real server's CPU is not the client's and this fake shares the machine.
        self.decode_images = True
        self.scheme = "http"
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self, tls: ssl.SSLContext | None = None) -> Self:
        """Serve in a thread; with `tls`, over HTTPS (its `url` says https)."""
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def record(self, captured: Captured) -> None:
        with self._lock:
            self.requests.append(captured)

    def chat_requests(self) -> list[Captured]:
        return [r for r in self.requests if r.path.endswith(self.chat_path)]

    chat_path = ""

    def route(self, captured: Captured) -> Reply:
        raise NotImplementedError

    def bad_request(self, message: str) -> Reply:
        raise NotImplementedError

    def answer_chat(self, captured: Captured, default: Reply) -> Reply:
        """Apply latency, hang, gate and the scripted reply around a valid chat request."""
        self.record(captured)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                try:
                    self.gate.wait()
                except threading.BrokenBarrierError:
                    return Reply(500, {"error": "gate: the expected requests never overlapped"})
            if self.hang:
                self._stopping.wait(60)
            if self.latency:
                time.sleep(self.latency)
            scripted = self.reply(captured) if self.reply else None
            return scripted or default
        finally:
            with self._lock:
                self.in_flight -= 1


def _b64_image(data: str, where: str, *, decode: bool = True) -> tuple[int, int]:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}: illegal base64 data") from None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as image:
            if decode:
                image.load()
            return image.size
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a bad request
        raise BadRequest(f"{where}: not a decodable image ({exc})") from None


def _require(cond: object, message: str) -> None:
    if not cond:
        raise BadRequest(message)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class FakeOllama(FakeServer):
    chat_path = "/api/chat"
    CHAT_KEYS = frozenset(
        {"model", "messages", "stream", "format", "options", "keep_alive", "tools", "think"}
    )

    def bad_request(self, message: str) -> Reply:
        return Reply(400, {"error": message})

    def route(self, captured: Captured) -> Reply:
        if captured.method == "GET" and captured.path == "/api/version":
            self.record(captured)
            return Reply(200, {"version": "0.12.6"})
        if captured.method == "POST" and captured.path == "/api/show":
            self.record(captured)
            body = captured.body
            _require(
                isinstance(body, dict) and isinstance(body.get("model"), str), "model is required"
            )
            if body["model"] not in self.models:
                return Reply(404, {"error": f"model '{body['model']}' not found"})
            return Reply(200, {"details": {"family": "smolvlm"}, "capabilities": self.capabilities})
        if captured.method == "POST" and captured.path == "/api/chat":
            self.validate_chat(captured)
            model = captured.body["model"]
            if model not in self.models:
                self.record(captured)
                return Reply(404, {"error": f'model "{model}" not found, try pulling it first'})
            return self.answer_chat(captured, self.ok(DESCRIPTION, model))
        self.record(captured)
        return Reply(404, b"404 page not found", "text/plain")

    capabilities: tuple[str, ...] = ("completion", "vision")

    @staticmethod
    def ok(content: str, model: str = "smolvlm2", done_reason: str = "stop") -> Reply:
        return Reply(
            200,
            {
                "model": model,
                "created_at": "2026-11-26T12:00:00.000000Z",
                "message": {"role": "assistant", "content": content},
                "done": True,
                "done_reason": done_reason,
                "total_duration": 1000,
                "eval_count": 42,
            },
        )

    def validate_chat(self, captured: Captured) -> None:
        body = captured.body
        _require(isinstance(body, dict), "body must be a JSON object")
        unknown = set(body) - self.CHAT_KEYS
        _require(not unknown, f"unknown fields: {sorted(unknown)}")
        _require(isinstance(body.get("model"), str) and body["model"], "model is required")
        # The default is streaming; a client that wants one JSON answer must say so.
        _require(body.get("stream") is False, "stream must be false for a single response")
        messages = body.get("messages")
        _require(isinstance(messages, list) and messages, "messages must be a non-empty list")
        for i, message in enumerate(messages):
            _require(isinstance(message, dict), f"messages[{i}] must be an object")
            extra = set(message) - {"role", "content", "images", "tool_calls", "thinking"}
            _require(not extra, f"messages[{i}]: unknown fields {sorted(extra)}")
            _require(message.get("role") in ("system", "user", "assistant", "tool"), "bad role")
            _require(isinstance(message.get("content"), str), f"messages[{i}].content: string")
            for j, image in enumerate(message.get("images") or []):
                _require(isinstance(image, str), f"messages[{i}].images[{j}] must be a string")
                # Ollama wants bare base64; a data-URI prefix is invalid base64 to it.
                _require(not image.startswith("data:"), "illegal base64 data at input byte 4")
                where = f"messages[{i}].images[{j}]"
                captured.image_sizes.append(_b64_image(image, where, decode=self.decode_images))
        options = body.get("options", {})
        _require(isinstance(options, dict), "options must be an object")
        if "temperature" in options:
            _require(_number(options["temperature"]), "options.temperature must be a number")
        if "num_predict" in options:
            _require(isinstance(options["num_predict"], int), "options.num_predict: integer")
        if "keep_alive" in body:
            _require(isinstance(body["keep_alive"], str | int | float), "bad keep_alive")
        if "format" in body:
            fmt = body["format"]
            _require(fmt == "json" or isinstance(fmt, dict), "format: 'json' or a JSON schema")


class FakeOpenAI(FakeServer):
    chat_path = "/v1/chat/completions"
    CHAT_KEYS = frozenset(
        {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
         "response_format", "stream", "stop", "seed", "n"}
    )  # fmt: skip

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key

    def bad_request(self, message: str) -> Reply:
        return self.error(400, message, "invalid_request_error")

    @staticmethod
    def error(status: int, message: str, kind: str, code: str | None = None) -> Reply:
        return Reply(
            status, {"error": {"message": message, "type": kind, "param": None, "code": code}}
        )

    def route(self, captured: Captured) -> Reply:
        authorization = captured.headers.get("authorization")
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            self.record(captured)
            return self.error(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        if captured.method == "GET" and captured.path == "/v1/models":
            self.record(captured)
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "me"} for m in self.models
            ]
            return Reply(200, {"object": "list", "data": data})
        if captured.method == "POST" and captured.path == self.chat_path:
            self.validate_chat(captured)
            model = captured.body["model"]
            if model not in self.models:
                self.record(captured)
                return self.error(
                    404,
                    f"The model `{model}` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    "model_not_found",
                )
            return self.answer_chat(captured, self.ok(DESCRIPTION, model))
        self.record(captured)
        return self.error(404, f"Unknown path {captured.path}", "invalid_request_error")

    @staticmethod
    def ok(content: str, model: str = "smolvlm2", finish_reason: str = "stop") -> Reply:
        return Reply(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1764158400,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            },
        )

    def validate_chat(self, captured: Captured) -> None:
        body = captured.body
        _require(isinstance(body, dict), "body must be a JSON object")
        unknown = set(body) - self.CHAT_KEYS
        _require(not unknown, f"Unrecognized request argument supplied: {sorted(unknown)}")
        _require(isinstance(body.get("model"), str) and body["model"], "model is required")
        # Required by this fake on purpose: servers' defaults differ wildly.
        _require(_number(body.get("temperature")), "temperature is required (a number)")
        _require(
            isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0,
            "max_tokens is required (a positive integer)",
        )
        messages = body.get("messages")
        _require(isinstance(messages, list) and messages, "messages must be a non-empty list")
        for i, message in enumerate(messages):
            _require(isinstance(message, dict), f"messages[{i}] must be an object")
            _require(message.get("role") in ("system", "user", "assistant"), "bad role")
            content = message.get("content")
            if isinstance(content, str):
                continue
            _require(isinstance(content, list) and content, f"messages[{i}].content")
            for j, part in enumerate(content):
                where = f"messages[{i}].content[{j}]"
                _require(isinstance(part, dict), f"{where} must be an object")
                if part.get("type") == "text":
                    _require(set(part) == {"type", "text"}, f"{where}: text part shape")
                    _require(isinstance(part["text"], str), f"{where}.text must be a string")
                elif part.get("type") == "image_url":
                    _require(set(part) == {"type", "image_url"}, f"{where}: image part shape")
                    image_url = part["image_url"]
                    _require(
                        isinstance(image_url, dict) and set(image_url) <= {"url", "detail"},
                        f"{where}.image_url must be an object with url",
                    )
                    url = image_url.get("url")
                    prefix = "data:image/jpeg;base64,"
                    _require(
                        isinstance(url, str) and url.startswith(prefix),
                        f"{where}.image_url.url must be a data:image/jpeg;base64 URI",
                    )
                    data = url[len(prefix) :]
                    captured.image_sizes.append(_b64_image(data, where, decode=self.decode_images))
                else:
                    raise BadRequest(f"{where}: unknown content part type {part.get('type')!r}")
        if "response_format" in body:
            fmt = body["response_format"]
            _require(isinstance(fmt, dict), "response_format must be an object")
            if fmt.get("type") == "json_schema":
                spec = fmt.get("json_schema")
                _require(
                    isinstance(spec, dict)
                    and isinstance(spec.get("name"), str)
                    and isinstance(spec.get("schema"), dict),
                    "response_format.json_schema needs name and schema",
                )
            else:
                _require(fmt.get("type") in ("text", "json_object"), "bad response_format.type")


@contextmanager
def running(server: FakeServer) -> Iterator[FakeServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def refused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_photo(
    path: Path,
    fmt: str = "JPEG",
    size: tuple[int, int] = (640, 480),
    *,
    orientation: int | None = None,
    mode: str = "RGB",
) -> Path:
    """Write a small test photo with Pillow (optionally with an EXIF orientation)."""
    from PIL import Image

    colour: Any = (30, 30, 30, 128) if mode == "RGBA" else (30, 30, 30) if mode == "RGB" else 30
    image = Image.new(mode, size, colour)
    image.paste(
        Image.new(mode, (size[0] // 4, size[1] // 4), 200 if mode == "L" else (200,) * len(mode)),
        (0, 0),
    )
    kwargs: dict[str, Any] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif
    image.save(path, fmt, **kwargs)
    return path


def write_png_bomb(path: Path, side: int = 12000) -> Path:
    """A black `side` x `side` greyscale PNG written without ever holding its pixels: the
    header declares every pixel, the compressed rows take about 1/1000 of their size
    (12000 x 12000: 144 MP in 140 KB, 830 MB to decode into RGB)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    packer = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0, then `side` black pixels
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


# Fixtures for the describe tests (registered by conftest's pytest_plugins).
API_KEY = "sk-test-0123456789abcdef-SECRET"


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    server = FakeOllama().start()
    yield server
    server.stop()


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=API_KEY).start()
    yield server
    server.stop()
