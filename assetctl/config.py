"""Effective settings: defaults < config-file profile < ASSETCTL_* environment < flags.

Every value remembers where it came from so `assetctl config show` can say so. The
environment is injected (never read from `os.environ` here) so tests build settings for any
situation without touching the process.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from assetctl.errors import InvalidInputError

ENV_PREFIX = "ASSETCTL_"
DEFAULT_PROFILE = "default"
APP_NAME = "assetctl"


def config_dir(env: Mapping[str, str]) -> Path:
    """The directory holding config.toml (XDG_CONFIG_HOME aware)."""
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / APP_NAME
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir(env: Mapping[str, str]) -> Path:
    """The directory holding the embedded SQLite database (XDG_DATA_HOME aware)."""
    xdg = env.get("XDG_DATA_HOME")
    if xdg:
        return Path(xdg) / APP_NAME
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database_url(env: Mapping[str, str]) -> str:
    return f"sqlite:///{data_dir(env) / 'assetctl.db'}"


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


# --- value parsers: each takes the raw value (str from env/flags, any TOML type from the
# file) and returns the typed value or raises ValueError with a reason.


def _parse_database_url(raw: object) -> str:
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
    try:
        port = urlsplit(url).port
    except ValueError as exc:
        raise ValueError(f"malformed URL ({exc})") from None
    del port
    return url


def _parse_redis_url(raw: object) -> str | None:
    if not isinstance(raw, str):
        raise ValueError("expected a URL such as redis://host:6379/0")
    url = raw.strip()
    if url == "":
        return None
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError("expected redis://[:password@]host:6379/0, rediss://... or unix://...")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"malformed URL ({exc})") from None
    if scheme != "unix" and not parts.hostname:
        raise ValueError("the URL names no host")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ValueError("the database number after the host must be a whole number")
    return url


def _parse_positive_int(maximum: int) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        if isinstance(raw, bool):
            raise ValueError("expected a whole number")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and raw.strip().isdigit():
            value = int(raw.strip())
        else:
            raise ValueError("expected a whole number")
        if not 1 <= value <= maximum:
            raise ValueError(f"must be between 1 and {maximum}")
        return value

    return parse


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(raw: object) -> int:
    """`90`, `90s`, `15m`, `8h` or `1d` -> seconds (at least one)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        seconds = raw
    elif isinstance(raw, str) and raw.strip():
        text = raw.strip().lower()
        unit = _DURATION_UNITS.get(text[-1])
        number = text[:-1] if unit else text
        if not number.isdigit():
            raise ValueError("expected a duration such as 90s, 15m, 8h or 1d")
        seconds = int(number) * (unit or 1)
    else:
        raise ValueError("expected a duration such as 90s, 15m, 8h or 1d")
    if seconds < 1:
        raise ValueError("must be at least one second")
    return seconds


def _parse_secret(min_bytes: int) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if not isinstance(raw, str) or len(raw.encode()) < min_bytes:
            raise ValueError(f"must be at least {min_bytes} bytes of random data")
        return raw

    return parse


def _parse_choice(*choices: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        value = str(raw).strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of: {', '.join(choices)}")
        return value

    return parse


def _parse_seconds(raw: object) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not 0 < value <= 600:
        raise ValueError("must be between 0 and 600 seconds")
    return value


@dataclass(frozen=True)
class SettingSpec:
    key: str
    parse: Callable[[object], Any]
    default: Callable[[Mapping[str, str]], Any]
    help: str
    secret: bool = False
    # Shown commented out in the starter config file.
    example: str = "50"

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.key.upper()


# --- `describe` settings (vision-model provider and image limits).


def _parse_vlm_provider(raw: object) -> str:
    from assetctl.providers.registry import PRESETS

    name = raw.strip().lower() if isinstance(raw, str) else ""
    if name not in PRESETS:
        raise ValueError(f"expected one of {', '.join(PRESETS)}")
    return name


def _parse_vlm_model(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("expected a model name")
    return raw.strip()


def _parse_api_key(raw: object) -> str:
    # Never echo the value back in the error: it is a secret.
    if not isinstance(raw, str) or not raw.strip() or any(c.isspace() for c in raw.strip()):
        raise ValueError("expected a non-empty key without spaces")
    return raw.strip()


def parse_http_url(raw: object) -> str:
    """An http(s) base URL with a host; trailing slashes removed."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("expected an http:// or https:// URL")
    url = raw.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"malformed URL ({exc})") from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{mask_url(url)!r} is not an http:// or https:// URL with a host, "
            "e.g. http://127.0.0.1:11434"
        )
    if parts.query or parts.fragment:
        raise ValueError("a base URL takes no ?query or #fragment")
    return url.rstrip("/")


def _parse_read_timeout(raw: object) -> float:
    try:
        value = float(str(raw).strip()) if not isinstance(raw, bool) else 0.0
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise ValueError("expected a number of seconds between 0 and 3600")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "kib": 1024, "mib": 1024**2}


def _parse_size(raw: object) -> int:
    text = "" if isinstance(raw, bool) else str(raw).strip().lower().replace(" ", "")
    number = text.rstrip("kmib")
    unit = text[len(number) :]
    if not number.isdigit() or unit not in _SIZE_UNITS:
        raise ValueError("expected a size in bytes, e.g. 26214400, 25MB or 25MiB")
    value = int(number) * _SIZE_UNITS[unit]
    if not 1 <= value <= 2 * 1024**3:
        raise ValueError("must be between 1 byte and 2 GiB")
    return value


_VLM_SPECS = (
    SettingSpec(
        "vlm_provider",
        _parse_vlm_provider,
        lambda _env: "ollama",
        "vision-model provider of `describe`: ollama, lmstudio, llamacpp, vllm or openai",
        example='"ollama"',
    ),
    SettingSpec(
        "vlm_model",
        _parse_vlm_model,
        lambda _env: "smolvlm2",
        "vision model as the server names it (tested: HuggingFaceTB/SmolVLM2-2.2B-Instruct)",
        example='"smolvlm2"',
    ),
    SettingSpec(
        "vlm_base_url",
        parse_http_url,
        lambda _env: "",
        "API root of the provider (empty: the preset's local address)",
        example='"http://127.0.0.1:11434"',
    ),
    SettingSpec(
        "vlm_api_key",
        _parse_api_key,
        lambda _env: "",
        "API key sent as `Authorization: Bearer` (never shown or logged)",
        secret=True,
        example='"sk-..."',
    ),
    SettingSpec(
        "vlm_timeout",
        _parse_read_timeout,
        lambda _env: 300.0,
        "seconds to wait for the model's answer (a cold model load can take minutes)",
        example="300",
    ),
    SettingSpec(
        "image_max_bytes",
        _parse_size,
        lambda _env: 25 * 1024 * 1024,
        "largest photo `describe` accepts, in bytes (or 25MB, 25MiB)",
        example='"25MiB"',
    ),
    SettingSpec(
        "image_max_edge",
        _parse_positive_int(8192),
        lambda _env: 1536,
        "longest edge in pixels of the image sent to the model",
        example="1536",
    ),
    SettingSpec(
        "describe_concurrency",
        _parse_positive_int(64),
        lambda _env: 4,
        "photos `describe` sends to the provider at the same time",
        example="4",
    ),
)


# --- security alert settings (public IP discovery, GeoIP, notification channels).

_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _parse_ip_urls(raw: object) -> str:
    """Echo-service URLs, comma-separated (or a TOML list); `off` disables the lookup.
    https:// always; plain http:// only to a loopback host (local test or sidecar services),
    because an answer over the network could be forged by anyone on the path."""
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    urls = [str(item).strip() for item in items if str(item).strip()]
    if not urls or [u.lower() for u in urls] == ["off"]:
        return "off"
    for url in urls:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"malformed URL {url!r} ({exc})") from None
        host = parts.hostname or ""
        loopback = host in _LOOPBACK_HOSTS or host.startswith("127.")
        if not host or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            raise ValueError(
                f"{url!r} is not an https:// URL (http:// is allowed only for loopback hosts); "
                "use `off` to disable the lookup"
            )
    return ", ".join(urls)


def _parse_optional_path(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError("expected a file path")
    return str(Path(raw.strip()).expanduser()) if raw.strip() else ""


def _parse_webhook_url(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError("expected an http:// or https:// URL")
    url = raw.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError as exc:
        raise ValueError(f"malformed URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Never echo the URL: webhook URLs often embed a token.
        raise ValueError("expected an http:// or https:// URL with a host")
    return url


SMTP_SCHEMES = ("smtp", "smtps")


def _parse_smtp_url(raw: object) -> str:
    """smtp://[user:password@]host[:port][?starttls=auto|always|never] or smtps://... ."""
    if not isinstance(raw, str):
        raise ValueError("expected a URL such as smtp://user:password@mail.example.com:587")
    url = raw.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError as exc:
        raise ValueError(f"malformed URL ({exc})") from None
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ValueError("expected smtp://[user:password@]host[:port] or smtps://...")
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        if key != "starttls" or value not in ("auto", "always", "never"):
            raise ValueError("the only query option is starttls=auto|always|never")
    return url


def _parse_emails(raw: object) -> str:
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    emails = [str(item).strip() for item in items if str(item).strip()]
    for email in emails:
        local, at, domain = email.partition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in email):
            raise ValueError(f"{email!r} is not an email address")
        if any(ord(c) < 32 or ord(c) == 127 for c in email):
            raise ValueError("email addresses may not contain control characters")
    return ", ".join(emails)


def _parse_email(raw: object) -> str:
    value = _parse_emails(raw)
    if not value or "," in value:
        raise ValueError("expected one email address")
    return value


_ALERT_SPECS = (
    SettingSpec(
        "public_ip_urls",
        _parse_ip_urls,
        lambda _env: "https://api.ipify.org, https://ifconfig.me/ip",
        "echo services asked for the public IP at login (comma-separated, or off)",
        example='"https://api.ipify.org, https://ifconfig.me/ip"',
    ),
    SettingSpec(
        "public_ip_timeout",
        _parse_seconds,
        lambda _env: 3.0,
        "total seconds the public IP lookup may take at login",
        example="3",
    ),
    SettingSpec(
        "geoip_db",
        _parse_optional_path,
        lambda _env: "",
        "MaxMind or DB-IP City/Country .mmdb file for location alerts (empty: IP only)",
        example='"/var/lib/GeoIP/GeoLite2-City.mmdb"',
    ),
    SettingSpec(
        "login_retention",
        parse_duration,
        lambda _env: 90 * 86400,
        "how far back logins count as known locations for alerts",
        example='"90d"',
    ),
    SettingSpec(
        "alert_webhook_url",
        _parse_webhook_url,
        lambda _env: "",
        "URL that receives each security alert as a JSON POST",
        secret=True,
        example='"https://hooks.example.com/assetctl"',
    ),
    SettingSpec(
        "smtp_url",
        _parse_smtp_url,
        lambda _env: "",
        "mail server for alert email: smtp://user:pass@host:587 (STARTTLS) or smtps://",
        secret=True,
        example='"smtp://alerts:PASSWORD@mail.example.com:587"',
    ),
    SettingSpec(
        "smtp_ca_file",
        _parse_optional_path,
        lambda _env: "",
        "CA bundle that signs the mail server's certificate (empty: system CAs)",
        example='"/etc/ssl/certs/company-ca.pem"',
    ),
    SettingSpec(
        "alert_email_to",
        _parse_emails,
        lambda _env: "",
        "who receives security alert email (comma-separated)",
        example='"security@example.com"',
    ),
    SettingSpec(
        "alert_email_from",
        _parse_email,
        lambda _env: "assetctl@localhost",
        "sender address of security alert email",
        example='"assetctl@example.com"',
    ),
    SettingSpec(
        "alert_timeout",
        _parse_seconds,
        lambda _env: 5.0,
        "seconds one notification attempt (webhook or email) may take",
        example="5",
    ),
)


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(
            "database_url",
            _parse_database_url,
            default_database_url,
            "SQLAlchemy URL of the database (SQLite file by default)",
            secret=True,
        ),
        SettingSpec(
            "list_limit",
            _parse_positive_int(1000),
            lambda _env: 50,
            "rows per page of `asset list` when --limit is not given",
        ),
        SettingSpec(
            "redis_url",
            _parse_redis_url,
            lambda _env: None,
            "Redis URL for the shared listing cache (no cache when unset)",
            secret=True,
        ),
        SettingSpec(
            "cache_ttl",
            _parse_positive_int(7 * 86400),
            lambda _env: 300,
            "seconds a cached listing page may live",
        ),
        SettingSpec(
            "jwt_secret",
            _parse_secret(32),
            lambda _env: None,
            "HS256 signing key (>= 32 bytes); default: a random key kept in the database",
            secret=True,
        ),
        SettingSpec(
            "token_lifetime", parse_duration, lambda _env: 8 * 3600, "how long a login lasts"
        ),
        SettingSpec(
            "auth_storage",
            _parse_choice("keyring", "file"),
            lambda _env: "keyring",
            "where `auth login` keeps the token: the OS keyring, or a 0600 file",
        ),
        SettingSpec(
            "keyring_timeout",
            _parse_seconds,
            lambda _env: 3.0,
            "seconds to wait for the OS keyring before giving up",
        ),
        SettingSpec(
            "lockout_threshold",
            _parse_positive_int(100),
            lambda _env: 5,
            "failed logins within lockout_window that lock an account",
        ),
        SettingSpec(
            "lockout_window", parse_duration, lambda _env: 15 * 60, "window for counting failures"
        ),
        SettingSpec(
            "lockout_duration", parse_duration, lambda _env: 15 * 60, "how long a lock lasts"
        ),
        *_VLM_SPECS,
        *_ALERT_SPECS,
    )
}


@dataclass(frozen=True)
class Settings:
    """Effective settings, with the origin of each value."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    profile: str
    config_path: Path
    config_exists: bool

    @property
    def database_url(self) -> str:
        return str(self.values["database_url"])

    @property
    def list_limit(self) -> int:
        return int(self.values["list_limit"])

    @property
    def uses_default_database(self) -> bool:
        return self.sources["database_url"] == "default"

    def display_value(self, key: str) -> str:
        """The value as `config show` prints it: secrets masked."""
        value = self.values[key]
        if key == "smtp_url" and value:
            return mask_url(str(value))
        if key in ("database_url", "redis_url") and value:
            return mask_url(str(value))
        if SPECS[key].secret:
            return "***" if value else "(not set)"
        return str(value)


def _config_path(env: Mapping[str, str]) -> tuple[Path, bool]:
    explicit = env.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit).expanduser(), True
    return config_dir(env) / "config.toml", False


def _read_config_file(path: Path, explicit: bool) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise InvalidInputError(
                f"config file {path} (from {ENV_PREFIX}CONFIG) does not exist",
                hint="create it, or unset ASSETCTL_CONFIG to use the default location",
            ) from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read config file {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"config file {path} is not valid TOML: {exc}") from None


def _check_keys(table: Mapping[str, Any], where: str) -> None:
    for key in table:
        if key not in SPECS:
            known = ", ".join(sorted(SPECS))
            raise InvalidInputError(
                f"unknown setting {key!r} in {where}", hint=f"known settings: {known}"
            )


def load_settings(
    env: Mapping[str, str],
    *,
    profile: str | None = None,
    flags: Mapping[str, object] | None = None,
) -> Settings:
    """Build the effective settings from defaults, the config file, `env` and `flags`.

    Raises InvalidInputError naming the key (and where it came from) for unknown keys,
    malformed values, or an undefined profile.
    """
    path, explicit = _config_path(env)
    document = _read_config_file(path, explicit)
    profiles = document.pop("profiles", {})
    if not isinstance(profiles, dict):
        raise InvalidInputError(f"'profiles' in {path} must be a table of [profiles.NAME] tables")
    _check_keys(document, str(path))

    chosen = profile or env.get(ENV_PREFIX + "PROFILE") or DEFAULT_PROFILE
    if chosen not in profiles and chosen != DEFAULT_PROFILE:
        defined = ", ".join(sorted(profiles)) or "none"
        raise InvalidInputError(
            f"profile {chosen!r} is not defined in {path}", hint=f"defined profiles: {defined}"
        )
    profile_table = profiles.get(chosen, {})
    if not isinstance(profile_table, dict):
        raise InvalidInputError(f"[profiles.{chosen}] in {path} must be a table")
    _check_keys(profile_table, f"[profiles.{chosen}] of {path}")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, spec in SPECS.items():
        layers: list[tuple[object, str]] = []
        if key in document:
            layers.append((document[key], f"config file {path}"))
        if key in profile_table:
            layers.append((profile_table[key], f"config file {path} [profiles.{chosen}]"))
        if spec.env_var in env and env[spec.env_var] != "":
            layers.append((env[spec.env_var], f"env {spec.env_var}"))
        if flags and flags.get(key) is not None:
            layers.append((flags[key], "flag"))
        if not layers:
            values[key] = spec.default(env)
            sources[key] = "default"
            continue
        raw, origin = layers[-1]
        try:
            values[key] = spec.parse(raw)
        except ValueError as exc:
            raise InvalidInputError(f"invalid value for {key} (from {origin}): {exc}") from None
        sources[key] = origin
    return Settings(
        values=values,
        sources=sources,
        profile=chosen,
        config_path=path,
        config_exists=path.exists(),
    )


def config_template() -> str:
    """A commented starter config file listing every setting."""
    lines = [
        "# assetctl configuration.",
        "# Precedence: command-line flags > ASSETCTL_* environment > this file > defaults.",
        "# Top-level settings apply to every profile; a [profiles.NAME] table overrides them",
        "# when selected with --profile NAME or ASSETCTL_PROFILE=NAME.",
        "",
    ]
    for spec in SPECS.values():
        lines.append(f"# {spec.help} (env {spec.env_var})")
        example = (
            '"postgresql+psycopg2://assetctl@db.example.com:5432/assetctl"'
            if spec.key == "database_url"
            else spec.example
        )
        lines.append(f"# {spec.key} = {example}")
        lines.append("")
    lines += [
        "# [profiles.staging]",
        '# database_url = "postgresql+psycopg2://assetctl@staging-db:5432/assetctl"',
        "",
    ]
    return "\n".join(lines)
