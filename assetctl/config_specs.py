"""Every setting assetctl knows: its name, parser, default, help and whether it is secret,
grouped by the feature that reads it. `assetctl.config` loads them; `config show` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from assetctl.config_values import (
    parse_api_key,
    parse_choice,
    parse_database_url,
    parse_db_timeout,
    parse_duration,
    parse_email,
    parse_http_url,
    parse_ip_urls,
    parse_optional_path,
    parse_positive_int,
    parse_read_timeout,
    parse_redis_url,
    parse_seconds,
    parse_secret,
    parse_size,
    parse_tag_pattern,
    parse_vlm_model,
)

ENV_PREFIX = "ASSETCTL_"
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


@dataclass(frozen=True)
class SettingSpec:
    key: str
    parse: Callable[[object], Any]
    default: Callable[[Mapping[str, str]], Any]
    help_text: str | Callable[[], str]
    secret: bool = False
    # Shown commented out in the starter config file.
    example_text: str | Callable[[], str] = "50"

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.key.upper()

    @property
    def help(self) -> str:
        return self.help_text if isinstance(self.help_text, str) else self.help_text()

    @property
    def example(self) -> str:
        return self.example_text if isinstance(self.example_text, str) else self.example_text()


# The settings of other features (describe's images and providers, labels, database roles)
# are checked by those features' modules. Every command loads every setting, but parses only
# the ones given; so those modules are imported when a value of theirs is parsed, shown or
# defaulted, not by every command (about 4 ms of imports).
def _lazy(module: str, name: str) -> Callable[..., Any]:
    """`module.name(...)`, imported on the first call."""

    def call(*args: Any) -> Any:
        return getattr(import_module(module), name)(*args)

    return call


_TEMPLATES = "assetctl.core.labels.templates"
# Defaults the features' modules share (loading the settings computes every default).
# image_max_pixels: a 50 MP camera (8688x5792) with some room.
DEFAULT_MAX_PIXELS = 60_000_000
DEFAULT_LABEL_TEMPLATE = "brother-62x29"
_PRESETS = "assetctl.providers.presets"


_VLM_SPECS = (
    SettingSpec(
        "vlm_provider",
        _lazy(_PRESETS, "parse_preset_name"),
        lambda _env: "ollama",
        lambda: f"vision-model provider of `describe`: {_lazy(_PRESETS, 'preset_names')()}",
        example_text='"ollama"',
    ),
    SettingSpec(
        "vlm_model",
        parse_vlm_model,
        lambda _env: "smolvlm2",
        "vision model as the server names it (tested: HuggingFaceTB/SmolVLM2-2.2B-Instruct)",
        example_text='"smolvlm2"',
    ),
    SettingSpec(
        "vlm_base_url",
        parse_http_url,
        lambda _env: "",
        "API root of the provider (empty: the preset's local address)",
        example_text='"http://127.0.0.1:11434"',
    ),
    SettingSpec(
        "vlm_api_key",
        parse_api_key,
        lambda _env: "",
        "API key sent as `Authorization: Bearer` (never shown or logged)",
        secret=True,
        example_text='"sk-..."',
    ),
    SettingSpec(
        "vlm_timeout",
        parse_read_timeout,
        lambda _env: 300.0,
        "seconds to wait for the model's answer (a cold model load can take minutes)",
        example_text="300",
    ),
    SettingSpec(
        "image_max_bytes",
        parse_size,
        lambda _env: 25 * 1024 * 1024,
        "largest photo `describe` accepts, in bytes (or 25MB, 25MiB)",
        example_text='"25MiB"',
    ),
    SettingSpec(
        "image_max_edge",
        parse_positive_int(8192),
        lambda _env: 1536,
        "longest edge in pixels of the image sent to the model",
        example_text="1536",
    ),
    SettingSpec(
        "image_max_pixels",
        parse_positive_int(1_000_000_000),
        lambda _env: DEFAULT_MAX_PIXELS,
        "most pixels (width x height, from the file's header) of a photo `describe` decodes",
        example_text=str(DEFAULT_MAX_PIXELS),
    ),
    SettingSpec(
        "tag_pattern",
        parse_tag_pattern,
        lambda _env: "",
        "regular expression a whole asset tag matches; `asset add --from-photo` proposes text "
        "read off the photo that matches it as the tag (empty: only `Asset:`/`Tag:` labels)",
        example_text='"[A-Z]{3}-[0-9]{4}"',
    ),
    SettingSpec(
        "describe_concurrency",
        parse_positive_int(64),
        lambda _env: 4,
        "photos `describe` sends to the provider at the same time",
        example_text="4",
    ),
)


_ALERT_SPECS = (
    SettingSpec(
        "public_ip_urls",
        parse_ip_urls,
        lambda _env: "https://api.ipify.org, https://ifconfig.me/ip",
        "echo services asked for the public IP at login (comma-separated, or off)",
        example_text='"https://api.ipify.org, https://ifconfig.me/ip"',
    ),
    SettingSpec(
        "public_ip_timeout",
        parse_seconds,
        lambda _env: 3.0,
        "total seconds the public IP lookup may take at login",
        example_text="3",
    ),
    SettingSpec(
        "geoip_db",
        parse_optional_path,
        lambda _env: "",
        "MaxMind or DB-IP City/Country .mmdb file for location alerts (empty: IP only)",
        example_text='"/var/lib/GeoIP/GeoLite2-City.mmdb"',
    ),
    SettingSpec(
        "login_retention",
        parse_duration,
        lambda _env: 90 * 86400,
        "how far back logins count as known locations for alerts",
        example_text='"90d"',
    ),
    SettingSpec(
        "smtp_ca_file",
        parse_optional_path,
        lambda _env: "",
        "CA bundle that signs the mail server's certificate (empty: system CAs)",
        example_text='"/etc/ssl/certs/company-ca.pem"',
    ),
    SettingSpec(
        "alert_email_from",
        parse_email,
        lambda _env: "assetctl@localhost",
        "sender address of security alert email",
        example_text='"assetctl@example.com"',
    ),
    SettingSpec(
        "alert_timeout",
        parse_seconds,
        lambda _env: 5.0,
        "seconds one notification attempt (webhook or email) may take",
        example_text="5",
    ),
)


_LABEL_SPECS = (
    SettingSpec(
        "label_url_template",
        _lazy("assetctl.core.labels.qr", "parse_url_template"),
        lambda _env: "",
        "URL a label's QR code holds, with {tag} replaced by the URL-quoted tag "
        "(empty: the QR code holds the tag itself)",
        example_text='"https://inventory.example.com/a/{tag}"',
    ),
    SettingSpec(
        "label_template",
        _lazy(_TEMPLATES, "parse_template_name"),
        lambda _env: DEFAULT_LABEL_TEMPLATE,
        lambda: (
            "label size `assetctl label` uses without --template: "
            + _lazy(_TEMPLATES, "template_names")()
        ),
        example_text=f'"{DEFAULT_LABEL_TEMPLATE}"',
    ),
    SettingSpec(
        "label_font",
        parse_optional_path,
        lambda _env: "",
        "TrueType font for the characters the bundled Noto Sans lacks (e.g. CJK)",
        example_text='"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"',
    ),
)


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(
            "database_url",
            parse_database_url,
            default_database_url,
            "SQLAlchemy URL of the database (SQLite file by default)",
            secret=True,
        ),
        SettingSpec(
            "db_statement_timeout",
            parse_db_timeout,
            lambda _env: 30.0,
            "seconds a database statement may run before the command fails with exit 7; "
            "0: no limit",
            example_text="30",
        ),
        SettingSpec(
            "db_lock_timeout",
            parse_db_timeout,
            lambda _env: 10.0,
            "seconds to wait for a row or database lock another session holds before the "
            "command fails with exit 6; 0: wait forever",
            example_text="10",
        ),
        SettingSpec(
            "list_limit",
            parse_positive_int(1000),
            lambda _env: 50,
            "rows per page of `asset list` when --limit is not given",
        ),
        SettingSpec(
            "redis_url",
            parse_redis_url,
            lambda _env: None,
            "Redis URL for the shared listing cache (no cache when unset)",
            secret=True,
        ),
        SettingSpec(
            "cache_ttl",
            parse_positive_int(7 * 86400),
            lambda _env: 300,
            "seconds a cached listing page may live",
        ),
        SettingSpec(
            "jwt_secret",
            parse_secret(32),
            lambda _env: None,
            "SQLite only: HS256 signing key (>= 32 bytes); default: a random key kept in the "
            "database (PostgreSQL signs and verifies tokens itself)",
            secret=True,
        ),
        SettingSpec(
            "token_lifetime",
            parse_duration,
            lambda _env: 8 * 3600,
            "how long your login lasts; the database policy's token_lifetime caps it",
        ),
        SettingSpec(
            "auth_storage",
            parse_choice("keyring", "file"),
            lambda _env: "keyring",
            "where `auth login` keeps the token: the OS keyring, or a 0600 file",
        ),
        SettingSpec(
            "keyring_timeout",
            parse_seconds,
            lambda _env: 3.0,
            "seconds to wait for the OS keyring before giving up",
        ),
        SettingSpec(
            "db_role_prefix",
            _lazy("assetctl.db.roles", "check_prefix"),
            lambda _env: None,
            "PostgreSQL: prefix of the owner/viewer/operator/admin roles `db upgrade` creates "
            "(default: the one recorded in the database, else assetctl)",
            example_text='"assetctl"',
        ),
        *_VLM_SPECS,
        *_ALERT_SPECS,
        *_LABEL_SPECS,
    )
}
