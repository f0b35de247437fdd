"""Effective settings: defaults < config-file profile < ASSETCTL_* environment < flags.

Every value remembers where it came from so `assetctl config show` can say so. The
environment is injected (never read from `os.environ` here) so tests build settings for any
situation without touching the process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assetctl.config_specs import ENV_PREFIX, SPECS, SettingSpec, config_dir
from assetctl.config_values import mask_url
from assetctl.errors import InvalidInputError

DEFAULT_PROFILE = "default"
# Secret settings whose value is a URL: shown with the password masked, not hidden.
_MASKED_URLS = frozenset({"database_url", "redis_url", "smtp_url"})


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
        if key in _MASKED_URLS and value:
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
    import tomllib  # only when there is a file to parse

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"config file {path} is not valid TOML: {exc}") from None


def _shown(spec: SettingSpec, raw: object) -> str:
    """A rejected value as the error names it: secrets never, URLs with their password
    masked, long values cut."""
    if spec.key in _MASKED_URLS and isinstance(raw, str):
        text = mask_url(raw.strip())
    elif spec.secret:
        return "(secret, not shown)"
    else:
        text = raw if isinstance(raw, str) else str(raw)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _check_keys(table: Mapping[str, Any], where: str) -> None:
    for key in table:
        if key not in SPECS:
            known = ", ".join(sorted(SPECS))
            raise InvalidInputError(
                f"unknown setting {key!r} in {where}", hint=f"known settings: {known}"
            )


_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_profile_name(name: str) -> str:
    """A profile name names files (its token file) and keyring entries: letters, digits,
    `-` and `_` only, so no name can point outside assetctl's directories."""
    if not _PROFILE_NAME.fullmatch(name):
        raise InvalidInputError(
            f"profile name {name!r} is not valid",
            hint="use letters, digits, '-' and '_' (at most 64, starting with a letter or digit)",
        )
    return name


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

    chosen = check_profile_name(profile or env.get(ENV_PREFIX + "PROFILE") or DEFAULT_PROFILE)
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
            reason, shown = str(exc), _shown(spec, raw)
            # Name the value given, unless the parser's reason already quotes it.
            given = "" if shown in reason else f"{shown}: "
            raise InvalidInputError(
                f"invalid value for {key} (from {origin}): {given}{reason}"
            ) from None
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
