"""Parsers for setting values, and how URLs with secrets are shown.

Each parser takes the raw value (a string from the environment or a flag, any TOML type from
the config file) and returns the typed value, or raises ValueError with a reason that never
repeats a secret.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import SplitResult, urlsplit, urlunsplit


def mask_url(url: str) -> str:
    """Hide the password of a URL: `postgresql://u:secret@h/db` -> `postgresql://u:***@h/db`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    # libpq also takes the password as a query parameter: `...db?password=secret`.
    query = "&".join(
        f"{pair.partition('=')[0]}=***"
        if pair.partition("=")[0].lower() in ("password", "sslpassword")
        else pair
        for pair in parts.query.split("&")
    )
    if parts.password is None:
        return url if query == parts.query else urlunsplit(parts._replace(query=query))
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, query, ""))


def split_url(url: str, *, show: bool = False) -> SplitResult:
    """`urlsplit` that also rejects a bad port; the error names the URL only with `show`
    (most of ours carry passwords or tokens)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        shown = f" {url!r}" if show else ""
        raise ValueError(f"malformed URL{shown} ({exc})") from None
    return parts


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() is also true for "²" and "١٢"."""
    return text.isascii() and text.isdigit()


# --- value parsers: each takes the raw value (str from env/flags, any TOML type from the
# file) and returns the typed value or raises ValueError with a reason.


def parse_database_url(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("expected a database URL such as postgresql+psycopg2://user@host/db")
    url = raw.strip()
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in ("postgres", "postgresql"):
        # libpq-style URLs are what people paste; SQLAlchemy wants the driver named.
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    elif scheme not in ("postgresql+psycopg2", "sqlite", "sqlite+pysqlite"):
        raise ValueError(
            "unsupported scheme; use postgresql+psycopg2://user:password@host:5432/db "
            "or sqlite:///path/to/file.db"
        )
    split_url(url)
    if scheme.startswith("sqlite"):
        _check_sqlite_uri(url)
    return url


def _check_sqlite_uri(url: str) -> None:
    """SQLite's `file:` URI form (`sqlite:///file:inv.db?mode=ro&uri=true`) is supported as
    SQLAlchemy documents it, with `uri=true`; without it the driver would take "file:..."
    for a path and create a `file:` directory, so it is refused."""
    from urllib.parse import parse_qs, urlsplit

    database = url.split(":///", 1)[1] if ":///" in url else ""
    if not database.startswith("file:"):
        return
    query = parse_qs(urlsplit(database).query)
    if query.get("uri") != ["true"]:
        raise ValueError(
            "a sqlite:///file: URL is SQLite's URI form and needs ?uri=true "
            "(e.g. sqlite:///file:/data/inv.db?mode=ro&uri=true); or give a plain path"
        )
    path = urlsplit(database).path
    if not path or path.startswith("//"):
        raise ValueError("a SQLite file: URI must name a local file path (file:/path/to/inv.db)")


def parse_db_timeout(raw: object) -> float:
    """Seconds as a number; 0 turns the timeout off."""
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError(f"expected a number of seconds, got {raw!r}") from None
    if not 0 <= value <= 86400:
        raise ValueError(f"must be between 0 (no timeout) and 86400 seconds, got {raw!r}")
    return value


def parse_redis_url(raw: object) -> str | None:
    if not isinstance(raw, str):
        raise ValueError("expected a URL such as redis://host:6379/0")
    url = raw.strip()
    if url == "":
        return None
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError("expected redis://[:password@]host:6379/0, rediss://... or unix://...")
    parts = split_url(url)
    if scheme != "unix" and not parts.hostname:
        raise ValueError("the URL names no host")
    path = parts.path.strip("/")
    if path and not _digits(path):
        raise ValueError("the database number after the host must be a whole number")
    return url


def parse_positive_int(maximum: int) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        if isinstance(raw, bool):
            raise ValueError("expected a whole number")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and _digits(raw.strip()):
            value = int(raw.strip())
        else:
            raise ValueError("expected a whole number")
        if not 1 <= value <= maximum:
            raise ValueError(f"must be between 1 and {maximum}")
        return value

    return parse


def parse_duration(raw: object) -> int:
    """A fixed span in seconds, in the one duration grammar (`assetctl.durations`)."""
    from assetctl.durations import parse_span

    return parse_span(raw)


def parse_secret(min_bytes: int) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if not isinstance(raw, str) or len(raw.encode()) < min_bytes:
            raise ValueError(f"must be at least {min_bytes} bytes of random data")
        return raw

    return parse


def parse_choice(*choices: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        value = str(raw).strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of: {', '.join(choices)}")
        return value

    return parse


def parse_seconds(raw: object) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not 0 < value <= 600:
        raise ValueError("must be between 0 and 600 seconds")
    return value


# --- `describe` settings (vision-model provider and image limits).


def parse_vlm_model(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("expected a model name")
    return raw.strip()


MAX_PATTERN_LEN = 200


def parse_tag_pattern(raw: object) -> str:
    """A regular expression (Python syntax) a whole asset tag matches; empty: none."""
    import re

    if not isinstance(raw, str):
        raise ValueError("expected a regular expression such as [A-Z]{3}-[0-9]{4}")
    pattern = raw.strip()
    if len(pattern) > MAX_PATTERN_LEN:
        raise ValueError(f"expected at most {MAX_PATTERN_LEN} characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return pattern


def parse_api_key(raw: object) -> str:
    # Never echo the value back in the error: it is a secret.
    if not isinstance(raw, str) or not raw.strip() or any(c.isspace() for c in raw.strip()):
        raise ValueError("expected a non-empty key without spaces")
    return raw.strip()


def parse_http_url(raw: object) -> str:
    """An http(s) base URL with a host; trailing slashes removed."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("expected an http:// or https:// URL")
    url = raw.strip()
    parts = split_url(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{mask_url(url)!r} is not an http:// or https:// URL with a host, "
            "e.g. http://127.0.0.1:11434"
        )
    if parts.query or parts.fragment:
        raise ValueError("a base URL takes no ?query or #fragment")
    return url.rstrip("/")


def parse_read_timeout(raw: object) -> float:
    try:
        value = float(str(raw).strip()) if not isinstance(raw, bool) else 0.0
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise ValueError("expected a number of seconds between 0 and 3600")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "kib": 1024, "mib": 1024**2}


def parse_size(raw: object) -> int:
    text = "" if isinstance(raw, bool) else str(raw).strip().lower().replace(" ", "")
    number = text.rstrip("kmib")
    unit = text[len(number) :]
    if not _digits(number) or unit not in _SIZE_UNITS:
        raise ValueError("expected a size in bytes, e.g. 26214400, 25MB or 25MiB")
    value = int(number) * _SIZE_UNITS[unit]
    if not 1 <= value <= 2 * 1024**3:
        raise ValueError("must be between 1 byte and 2 GiB")
    return value


# --- security alert settings (public IP discovery, GeoIP, notification channels).

_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def parse_ip_urls(raw: object) -> str:
    """Echo-service URLs, comma-separated (or a TOML list); `off` disables the lookup.
    https:// always; plain http:// only to a loopback host (local test or sidecar services),
    because an answer over the network could be forged by anyone on the path."""
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    urls = [str(item).strip() for item in items if str(item).strip()]
    if not urls or [u.lower() for u in urls] == ["off"]:
        return "off"
    for url in urls:
        parts = split_url(url, show=True)
        host = parts.hostname or ""
        loopback = host in _LOOPBACK_HOSTS or host.startswith("127.")
        if not host or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            raise ValueError(
                f"{url!r} is not an https:// URL (http:// is allowed only for loopback hosts); "
                "use `off` to disable the lookup"
            )
    return ", ".join(urls)


def parse_optional_path(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError("expected a file path")
    return str(Path(raw.strip()).expanduser()) if raw.strip() else ""


def parse_webhook_url(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError("expected an http:// or https:// URL")
    url = raw.strip()
    if not url:
        return ""
    parts = split_url(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Never echo the URL: webhook URLs often embed a token.
        raise ValueError("expected an http:// or https:// URL with a host")
    return url


SMTP_SCHEMES = ("smtp", "smtps")


def parse_smtp_url(raw: object) -> str:
    """smtp://[user:password@]host[:port][?starttls=auto|always|never] or smtps://... ."""
    if not isinstance(raw, str):
        raise ValueError("expected a URL such as smtp://user:password@mail.example.com:587")
    url = raw.strip()
    if not url:
        return ""
    parts = split_url(url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ValueError("expected smtp://[user:password@]host[:port] or smtps://...")
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        if key != "starttls" or value not in ("auto", "always", "never"):
            raise ValueError("the only query option is starttls=auto|always|never")
    return url


def parse_emails(raw: object) -> str:
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    emails = [str(item).strip() for item in items if str(item).strip()]
    for email in emails:
        local, at, domain = email.partition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in email):
            raise ValueError(f"{email!r} is not an email address")
        if any(ord(c) < 32 or ord(c) == 127 for c in email):
            raise ValueError("email addresses may not contain control characters")
    return ", ".join(emails)


def parse_email(raw: object) -> str:
    value = parse_emails(raw)
    if not value or "," in value:
        raise ValueError("expected one email address")
    return value
