"""`asset import --from-snipeit URL`: every asset of a running Snipe-IT, over its REST API.

`GET /api/v1/hardware?limit=500&offset=N` pages through the assets (Snipe-IT caps `limit` at
500, and an instance may cap it lower: the offset advances by the rows received), sorted by
id so pages do not shift while reading. Each row's JSON (`{"total": .., "rows": [..]}`, text
HTML-escaped as Snipe-IT's transformers send it) becomes one row of a Snipe-IT CSV written to
a temporary file, with the columns of Snipe-IT's own importer, so `bulk.snipeit` maps it
exactly as it maps an export. Every page is fetched before anything is imported: a failure
half-way imports nothing.

Failures are exit 7 naming the host: connection refused or timed out, 401/403 (a bad token),
an HTML page where JSON was expected (a login or proxy page: the URL is not Snipe-IT's), and
Snipe-IT's own error shape `{"status": "error", "messages": ...}`. HTTP 429 waits as long as
`Retry-After` says (at most MAX_WAIT s, MAX_RETRIES times per page).
"""

from __future__ import annotations

import csv
import html
import ipaddress
import json
import time
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.errors import InvalidInputError, ServiceUnavailableError

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.orm import Session

PAGE = 500  # Snipe-IT's largest page
TIMEOUT = 60.0  # seconds for one page (a page of 500 assets takes the server a while)
CONNECT_TIMEOUT = 5.0
MAX_RETRIES = 5  # 429 answers waited out per page
MAX_WAIT = 60.0  # longest Retry-After honoured, in seconds
DEFAULT_WAIT = 5.0  # when a 429 names no usable Retry-After

# Snipe-IT importer column -> how to take it from an API row (dotted path into the JSON).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("ID", "id"),
    ("Asset Tag", "asset_tag"),
    ("Asset Name", "name"),
    ("Serial Number", "serial"),
    ("Model Name", "model.name"),
    ("Model No.", "model_number"),
    ("Category", "category.name"),
    ("Manufacturer", "manufacturer.name"),
    ("Status", "status_label.name"),
    ("Location", "location.name"),
    ("Default Location", "rtd_location.name"),
    ("Company", "company.name"),
    ("Supplier", "supplier.name"),
    ("Order Number", "order_number"),
    ("Purchase Date", "purchase_date.date"),
    ("Purchase Cost", "purchase_cost"),
    ("Warranty Expires", "warranty_expires.date"),
    ("Warranty", "warranty_months"),
    ("Asset EOL Date", "asset_eol_date.date"),
    ("Notes", "notes"),
    ("BYOD", "byod"),
    ("Requestable", "requestable"),
    ("Checkout Type", "assigned_to.type"),
    ("Checked Out to: Email", "assigned_to.email"),
    ("Checked Out to: Username", "assigned_to.username"),
    ("Checked Out to: Full Name", "assigned_to.name"),
    ("Expected Checkin", "expected_checkin.date"),
    ("Last Checkout", "last_checkout.datetime"),
    ("Last Audit", "last_audit_date.datetime"),
    ("Next Audit Date", "next_audit_date.date"),
    ("Image", "image"),
)
_LOCATION_CHECKOUT = "Checkout to Location"
_ASSET_CHECKOUT = "Checked Out to: Asset"


def check_url(url: str) -> tuple[str, str]:
    """(base URL, host) of a Snipe-IT address. The token travels in clear over http://, so
    that is only allowed to this machine."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInputError(
            f"--from-snipeit {url!r} is not an http(s) URL",
            hint="give Snipe-IT's address, e.g. https://snipeit.example.com",
        )
    if parts.scheme == "http" and not _loopback(host):
        raise InvalidInputError(
            f"--from-snipeit {url!r} would send the API token unencrypted",
            hint="use https:// (plain http:// is accepted only for this machine)",
        )
    path = parts.path.rstrip("/").removesuffix("/api/v1")
    return f"{parts.scheme}://{parts.netloc}{path}", host


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pick(row: dict[str, Any], path: str) -> str:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None or value is False:
        return ""
    if value is True:
        return "Yes"
    return html.unescape(str(value))


def flatten(row: dict[str, Any]) -> dict[str, str]:
    """One API asset -> Snipe-IT importer columns (custom fields under their own names)."""
    flat = {column: _pick(row, path) for column, path in COLUMNS}
    kind = flat["Checkout Type"].lower()
    if kind in ("location", "asset"):
        # Not a person: the name is a place (-> location) or another asset (-> notes).
        target = _LOCATION_CHECKOUT if kind == "location" else _ASSET_CHECKOUT
        flat[target] = flat.pop("Checked Out to: Full Name")
        flat["Checked Out to: Email"] = flat["Checked Out to: Username"] = ""
    custom = row.get("custom_fields")
    if isinstance(custom, dict):
        for label, field in custom.items():
            value = field.get("value") if isinstance(field, dict) else field
            flat[html.unescape(str(label))] = "" if value is None else html.unescape(str(value))
    return flat


class _Client:
    def __init__(self, base: str, host: str, token: str, sleep: Callable[[float], None]) -> None:
        import httpx

        self.host = host
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
        )

    def page(self, offset: int) -> tuple[int, list[dict[str, Any]]]:
        """(total, rows) of the page at `offset`."""
        params = {"limit": PAGE, "offset": offset, "sort": "id", "order": "asc"}
        for _ in range(MAX_RETRIES + 1):
            response = self._get(params)
            if response.status_code != 429:
                return self._rows(response)
            self.sleep(_retry_after(response.headers.get("Retry-After")))
        raise ServiceUnavailableError(
            f"Snipe-IT at {self.host} kept answering 'too many requests' (HTTP 429)",
            hint="try again later, or raise the API throttle of your Snipe-IT "
            "(API_THROTTLE_PER_MINUTE)",
        )

    def _get(self, params: dict[str, Any]) -> httpx.Response:
        import httpx

        try:
            return self.http.get("/api/v1/hardware", params=params)
        except httpx.TimeoutException:
            raise ServiceUnavailableError(
                f"Snipe-IT at {self.host} did not answer in time",
                hint="check that the server is up; try again later",
            ) from None
        except httpx.HTTPError:
            raise ServiceUnavailableError(
                f"cannot connect to Snipe-IT at {self.host}",
                hint="check the URL and that the server is up and reachable from here",
            ) from None

    def _rows(self, response: httpx.Response) -> tuple[int, list[dict[str, Any]]]:
        status = response.status_code
        if status in (401, 403):
            raise ServiceUnavailableError(
                f"Snipe-IT at {self.host} refused the API token (HTTP {status})",
                hint="create an API key in Snipe-IT (Account > Manage API Keys) and pass it "
                "in ASSETCTL_SNIPEIT_TOKEN or on stdin",
            )
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ServiceUnavailableError(
                f"Snipe-IT at {self.host} answered with a web page, not API JSON (HTTP {status})",
                hint="give the address of Snipe-IT itself, e.g. https://snipeit.example.com",
            )
        if body.get("status") == "error" or status >= 400:
            raise ServiceUnavailableError(
                f"Snipe-IT at {self.host} answered with an error (HTTP {status}): "
                f"{_message(body.get('messages') or body.get('message'))}",
            )
        rows, total = body.get("rows"), body.get("total")
        if not isinstance(rows, list) or not isinstance(total, int):
            raise ServiceUnavailableError(
                f"Snipe-IT at {self.host} answered without the asset list (rows, total)",
                hint="check that the URL is Snipe-IT's address",
            )
        return total, [row for row in rows if isinstance(row, dict)]


def _retry_after(value: str | None) -> float:
    """Seconds to wait for a `Retry-After` of seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return DEFAULT_WAIT
    try:
        seconds = float(value)
    except ValueError:
        from datetime import UTC, datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return DEFAULT_WAIT
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_WAIT)


def _message(messages: object) -> str:
    """Snipe-IT's `messages`: a string, or field -> [strings]; shown on one line."""
    if isinstance(messages, dict):
        parts = [f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                 for k, v in messages.items()]  # fmt: skip
        text = "; ".join(parts)
    else:
        text = str(messages or "no message")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= 200 else text[:199] + "…"


def _pages(client: _Client) -> Iterator[dict[str, Any]]:
    offset, total = 0, None
    while total is None or offset < total:
        total, rows = client.page(offset)
        if not rows:
            return
        yield from rows
        offset += len(rows)


def fetch_snipeit(
    session: Session,
    caller: Principal,
    url: str,
    token: str,
    sink: IO[str],
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Write every asset of the Snipe-IT at `url` to `sink` as a Snipe-IT CSV (for
    `import_assets` with format snipeit); return how many. Needs the right to write assets,
    checked before anything is fetched."""
    require(caller, Permission.WRITE)
    del session  # nothing is read from the database; the import is its own transaction
    base, host = check_url(url)
    if not token.strip():
        raise InvalidInputError(
            "no Snipe-IT API token", hint="set ASSETCTL_SNIPEIT_TOKEN or pass it on stdin"
        )
    client = _Client(base, host, token.strip(), sleep)
    # Rows are spooled as JSON first: the CSV header needs every custom field's name.
    import tempfile

    columns = dict.fromkeys(c for c, _ in COLUMNS)
    count = 0
    with client.http, tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for row in _pages(client):
            flat = flatten(row)
            columns.update(dict.fromkeys(flat))
            spool.write(json.dumps(flat) + "\n")
            count += 1
        spool.seek(0)
        writer = csv.DictWriter(sink, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for line in spool:
            writer.writerow(json.loads(line))
    sink.flush()
    return count
