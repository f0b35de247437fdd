"""Real servers on 127.0.0.1 for the security alert tests: IP echo services, a webhook
receiver, an SMTP server (aiosmtpd, optionally STARTTLS with a certificate made here), and a
small GeoIP City database written with mmdb-writer."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# Global (public) addresses; nothing is ever sent to them: the fake echo services only
# name them. 81.2.69.x and 175.16.199.x are in the test GeoIP database (London, Tokyo).
IP_A = "81.2.69.160"
IP_B = "175.16.199.10"
IP_C = "8.8.4.4"
IP_MANCHESTER = "81.2.70.5"


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@dataclass
class HttpFake:
    """A threaded HTTP server; `routes` maps a path to a function of the request body
    returning (status, body) or raising _Hang to never answer."""

    routes: dict[str, Callable[[bytes], tuple[int, bytes]]]
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: _Server | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def start(self) -> HttpFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append((self.path, body))
                route = fake.routes.get(self.path.split("?")[0])
                if route is None:
                    status, answer = 404, b"not found"
                else:
                    result = route(body)
                    if result is HANG:
                        fake.release.wait(30)
                        return
                    status, answer = result
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(answer)

            do_GET = _serve
            do_POST = _serve

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


HANG: Any = object()


def sequence(*answers: str) -> Callable[[bytes], tuple[int, bytes]]:
    """Answers in turn; the last one repeats."""
    queue = list(answers)

    def answer(_body: bytes) -> tuple[int, bytes]:
        text = queue.pop(0) if len(queue) > 1 else queue[0]
        return 200, text.encode()

    return answer


def fixed(status: int, body: bytes) -> Callable[[bytes], tuple[int, bytes]]:
    return lambda _body: (status, body)


@dataclass
class Echo:
    fake: HttpFake
    answers: dict[str, list[str]]

    def set(self, path: str, *answers: str) -> str:
        """Make `path` answer `answers` in turn (the last repeats); returns its URL."""
        self.fake.routes[path] = sequence(*answers)
        return self.fake.url(path)

    def url(self, path: str) -> str:
        return self.fake.url(path)


@pytest.fixture
def echo() -> Iterator[Echo]:
    fake = HttpFake(
        {
            "/html": fixed(200, b"<html><body>Your IP is 8.8.8.8</body></html>"),
            "/private": fixed(200, b"10.1.2.3\n"),
            "/loopback": fixed(200, b"127.0.0.1"),
            "/huge": fixed(200, b"8" * (10 * 1024 * 1024)),
            "/error": fixed(500, b"internal error"),
            "/hang": lambda _body: HANG,
        }
    ).start()
    try:
        yield Echo(fake, {})
    finally:
        fake.stop()


@dataclass
class Webhook:
    fake: HttpFake
    mode: str = "ok"  # ok | error | hang

    @property
    def url(self) -> str:
        return self.fake.url("/hook")

    accepted: list[bytes] = field(default_factory=list)

    @property
    def received(self) -> list[dict[str, Any]]:
        """The payloads it answered 200 to."""
        return [json.loads(body) for body in self.accepted]

    def raw(self) -> str:
        return "\n".join(body.decode("utf-8", "replace") for _, body in self.fake.requests)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(HttpFake({}))

    def answer(body: bytes) -> tuple[int, bytes]:
        if hook.mode == "hang":
            return HANG  # type: ignore[no-any-return]
        if hook.mode == "ok":
            hook.accepted.append(body)
            return 200, b"ok"
        return 500, b"server error"

    hook.fake.routes["/hook"] = answer
    hook.fake.start()
    try:
        yield hook
    finally:
        hook.fake.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailHandler:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        del server
        if session.authenticated:
            self.logins.append(str(session.auth_data.login.decode()))
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def parsed(self) -> list[Message]:
        return [message_from_bytes(content) for _, _, content in self.messages]


@dataclass
class Smtp:
    port: int
    handler: MailHandler
    controller: Any = None

    def start(self, **smtp_params: Any) -> Smtp:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **smtp_params
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    """An SMTP server on a free port, NOT yet started (tests start it, or leave it down)."""
    server = Smtp(free_port(), MailHandler())
    try:
        yield server
    finally:
        server.stop()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A CA-flagged self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _city(iso: str, country: str, city: str, lat: float, lon: float, radius: int) -> Any:
    from mmdb_writer import MmdbF64, MmdbU16

    return {
        "country": {"iso_code": iso, "names": {"en": country}},
        "city": {"names": {"en": city}},
        "location": {
            "latitude": MmdbF64(lat),
            "longitude": MmdbF64(lon),
            "accuracy_radius": MmdbU16(radius),
        },
    }


def write_geoip(path: Path, database_type: str = "GeoLite2-City") -> Path:
    """London (81.2.69.0/24), Manchester (81.2.70.0/24, with wide accuracy radii) and
    Tokyo (175.16.199.0/24)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet  # type: ignore[import-untyped]

    writer = MMDBWriter(ip_version=4, database_type=database_type, languages=["en"])
    writer.insert_network(
        IPSet(["81.2.69.0/24"]), _city("GB", "United Kingdom", "London", 51.51, -0.13, 200)
    )
    writer.insert_network(
        IPSet(["81.2.70.0/24"]), _city("GB", "United Kingdom", "Manchester", 53.48, -2.24, 200)
    )
    writer.insert_network(
        IPSet(["175.16.199.0/24"]), _city("JP", "Japan", "Tokyo", 35.68, 139.69, 50)
    )
    writer.to_db_file(str(path))
    return path
