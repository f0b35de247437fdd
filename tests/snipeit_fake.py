"""A fake Snipe-IT on 127.0.0.1 for `asset import --from-snipeit` tests and benchmarks.

It answers `GET /api/v1/hardware` as Snipe-IT's API documents it
(https://snipe-it.readme.io/reference/hardware-list): bearer-token auth (401
`{"message": "Unauthenticated."}` otherwise), `limit` capped at 500 and `offset`, a body of
`{"total": N, "rows": [...]}` whose rows have the shape of Snipe-IT's AssetsTransformer (text
HTML-escaped, nested `{id, name}` objects, dates as `{date, formatted}`), its error shape
`{"status": "error", "messages": ..., "payload": null}`, and throttling as HTTP 429 with
`Retry-After`. Failures are scriptable per offset: `throttle`, `fail` (Snipe-IT's error
shape), `html` (a web page instead of JSON, as a login page or proxy gives).
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

TOKEN = "snipe-token-0123456789"
MAX_LIMIT = 500


def asset_row(n: int, **over: Any) -> dict[str, Any]:
    """One asset as Snipe-IT's API returns it."""
    row: dict[str, Any] = {
        "id": n,
        "name": html.escape(f"Laptop {n} & dock"),
        "asset_tag": f"SNIPE-{n:05d}",
        "serial": f"SER{n:06d}",
        "model": {"id": 3, "name": "ThinkPad T14"},
        "byod": False,
        "requestable": False,
        "model_number": "20S0",
        "eol": None,
        "asset_eol_date": None,
        "status_label": {
            "id": 1,
            "name": "Ready to Deploy",
            "status_type": "deployable",
            "status_meta": "deployable",
        },
        "category": {"id": 2, "name": "Laptops"},
        "manufacturer": {"id": 4, "name": "Lenovo"},
        "supplier": {"id": 5, "name": "ACME Supplies"},
        "notes": None,
        "order_number": f"PO-{n}",
        "company": {"id": 1, "name": "Example Corp"},
        "location": {"id": 7, "name": "Berlin"},
        "rtd_location": {"id": 7, "name": "Berlin"},
        "image": None,
        "assigned_to": None,
        "warranty_months": "36 months",
        "warranty_expires": {"date": "2026-01-14", "formatted": "Wed Jan 14, 2026"},
        "created_at": {"datetime": "2023-01-14 10:00:00", "formatted": "Sat Jan 14, 2023"},
        "updated_at": {"datetime": "2023-01-14 10:00:00", "formatted": "Sat Jan 14, 2023"},
        "last_audit_date": None,
        "next_audit_date": None,
        "deleted_at": None,
        "purchase_date": {"date": "2023-01-14", "formatted": "Sat Jan 14, 2023"},
        "expected_checkin": None,
        "last_checkout": None,
        "purchase_cost": "1,299.00",
        "custom_fields": {},
        "available_actions": {"checkout": True, "checkin": True},
    }
    row.update(over)
    return row


@dataclass
class FakeSnipeIT:
    rows: list[dict[str, Any]] = field(default_factory=list)
    token: str = TOKEN
    throttle: dict[int, int] = field(default_factory=dict)  # offset -> 429s still to send
    fail: set[int] = field(default_factory=set)  # offsets answered with an error
    html: bool = False  # every answer a login page
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, query: dict[str, list[str]], auth: str | None) -> Any:
        """(status, headers, body) for one request."""
        self.requests.append(query)
        if self.html:
            return 200, {"Content-Type": "text/html"}, b"<!DOCTYPE html><html>Login</html>"
        if urlsplit(path).path != "/api/v1/hardware":
            return 404, {}, {"status": "error", "messages": "Not found", "payload": None}
        if auth != f"Bearer {self.token}":
            return 401, {}, {"message": "Unauthenticated."}
        offset = int(query.get("offset", ["0"])[0])
        limit = min(int(query.get("limit", ["50"])[0]), MAX_LIMIT)
        if self.throttle.get(offset, 0) > 0:
            self.throttle[offset] -= 1
            return 429, {"Retry-After": "0"}, {"message": "Too Many Attempts."}
        if offset in self.fail:
            return 500, {}, {"status": "error", "messages": "Server Error", "payload": None}
        return 200, {}, {"total": len(self.rows), "rows": self.rows[offset : offset + limit]}


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        fake: FakeSnipeIT = self.server.fake
        status, headers, body = fake.answer(
            self.path, parse_qs(parts.query), self.headers.get("Authorization")
        )
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def snipeit() -> Iterator[FakeSnipeIT]:
    fake = FakeSnipeIT()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.fake = fake  # type: ignore[attr-defined]
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
