"""AI descriptions of assets from local photos.

`collect_targets` expands the command line into files (and the asset each belongs to),
`check_assets` confirms those assets exist before any model time is spent,
`describe_run.describe_all` normalises and sends the photos with bounded concurrency and
returns one result per file (a failure never loses the others), and `save_descriptions`
stores the successful ones.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetctl.config import Settings
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.describe.images import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, SUPPORTED
from assetctl.errors import (
    AssetctlError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
    most_severe,
)
from assetctl.json_values import rfc3339

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.core.assets.commands import Change
    from assetctl.providers.base import (
        ProviderCheck,
        ProviderConfig,
    )

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One file to describe; `error` is set when it failed before reaching the provider."""

    file: str
    path: Path | None
    asset: str | None = None
    error: AssetctlError | None = None


@dataclass(frozen=True)
class DescribeOptions:
    prompt: str | None = None
    structured: bool = False
    max_bytes: int = 25 * 1024 * 1024
    max_edge: int = 1536
    max_pixels: int = DEFAULT_MAX_PIXELS
    concurrency: int = 4


@dataclass
class FileResult:
    """The outcome for one file, in the shape `-o json` prints (plus status and warnings)."""

    file: str
    asset: str | None
    provider: str
    description: str | None = None
    details: dict[str, Any] | None = None
    model: str | None = None
    seconds: float | None = None
    error: str | None = None
    hint: str | None = None
    exit_status: int = 0
    error_type: str | None = None
    warnings: list[str] = field(default_factory=list)
    described_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "asset": self.asset,
            "description": self.description,
            "details": self.details,
            "model": self.model,
            "provider": self.provider,
            "seconds": self.seconds,
            "error": self.error,
        }

    def source(self) -> dict[str, Any]:
        """Where a saved description came from: provider, model and time."""
        at = self.described_at or datetime.now(UTC)
        source: dict[str, Any] = {
            "provider": self.provider,
            "model": self.model,
            "at": rfc3339(at),
        }
        if self.details is not None:
            source["details"] = self.details
        return source


def provider_config(settings: Settings) -> ProviderConfig:
    """The provider settings in effect: the preset's base URL unless one is configured."""
    from assetctl.providers.base import ProviderConfig
    from assetctl.providers.presets import PRESETS

    values = settings.values
    preset = PRESETS[values["vlm_provider"]]
    return ProviderConfig(
        preset=preset.name,
        kind=preset.kind,
        base_url=values["vlm_base_url"] or preset.base_url,
        model=values["vlm_model"],
        api_key=values["vlm_api_key"],
        timeout=float(values["vlm_timeout"]),
        max_connections=int(values["describe_concurrency"]),
    )


def vlm_configured(settings: Settings) -> bool:
    """Whether the user chose a provider (in the config file or env), rather than the
    defaults applying: `doctor` only fails on a provider someone asked for."""
    keys = ("vlm_provider", "vlm_base_url", "vlm_model")
    return any(settings.sources[key] != "default" for key in keys)


def collect_targets(
    paths: Sequence[str], *, asset: str | None = None, tag_from_filename: bool = False
) -> list[Target]:
    """Expand files and directories (their image files, not recursive) into targets.

    A missing path, or a directory without image files, becomes a failed target rather
    than an exception, so the other files are still described.
    """
    targets: list[Target] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                error = InvalidInputError(
                    f"{raw}: the directory contains no image files",
                    hint=f"supported: {SUPPORTED}",
                )
                targets.append(Target(raw, None, error=error))
            targets.extend(Target(str(p), p) for p in found)
        else:
            targets.append(Target(raw, path))
    if asset is not None:
        return [Target(t.file, t.path, asset, t.error) for t in targets]
    if tag_from_filename:
        return [Target(t.file, t.path, t.path.stem if t.path else None, t.error) for t in targets]
    return targets


def check_assets(
    session: Session, caller: Principal, refs: Sequence[str], *, for_saving: bool
) -> dict[str, str | NotFoundError]:
    """Each reference's asset tag, or the NotFoundError it raises (nothing is written).
    `for_saving` checks up front that the caller may save descriptions."""
    from assetctl.core.assets.commands import get_asset

    require(caller, Permission.WRITE if for_saving else Permission.READ)
    found: dict[str, str | NotFoundError] = {}
    for ref in dict.fromkeys(refs):
        try:
            found[ref] = str(get_asset(session, caller, ref)["tag"])
        except NotFoundError as exc:
            found[ref] = exc
    return found


def apply_asset_check(
    targets: Sequence[Target], found: Mapping[str, str | NotFoundError]
) -> list[Target]:
    """Mark targets whose asset does not exist as failed (exit 3) before any provider call."""
    marked = []
    for t in targets:
        outcome = found.get(t.asset) if t.asset is not None else None
        if t.error is None and isinstance(outcome, NotFoundError):
            error = NotFoundError(f"{t.file}: {outcome.message}", hint=outcome.hint)
            marked.append(Target(t.file, t.path, t.asset, error))
        elif isinstance(outcome, str):
            marked.append(Target(t.file, t.path, outcome, t.error))
        else:
            marked.append(t)
    return marked


def failed_result(target: Target, provider: str, error: AssetctlError) -> FileResult:
    """The result of a file that failed with `error` (its message, hint and exit class)."""
    return FileResult(
        file=target.file,
        asset=target.asset,
        provider=provider,
        error=error.message,
        hint=error.hint,
        exit_status=int(error.exit_status),
        error_type=error.kind,
    )


def exit_status(results: Sequence[FileResult]) -> int:
    """0 if every file succeeded, else the most severe failure class seen (7 > 3 > 2)."""
    return most_severe(r.exit_status for r in results if not r.ok)


def save_descriptions(
    session: Session, caller: Principal, results: Sequence[FileResult]
) -> list[Change]:
    """Store each successful description on its asset, with its source and a history event,
    all in this one transaction. A reply the field rules refuse (control characters, too
    long) is not saved: its result becomes a failure of the provider (exit 7), the others
    are saved."""
    from assetctl.core.assets.commands import set_description

    changes = []
    for r in results:
        if not (r.ok and r.asset is not None and r.description is not None):
            continue
        try:
            changes.append(set_description(session, caller, r.asset, r.description, r.source()))
        except InvalidInputError as exc:
            refused = ServiceUnavailableError(
                f"{r.file}: the model's reply was not saved: {exc.message}",
                hint="the provider returned text assetctl does not store; try again or "
                "another model",
            )
            r.error, r.hint, r.error_type = refused.message, refused.hint, refused.kind
            r.exit_status = int(refused.exit_status)
    return changes


def check_provider(settings: Settings) -> list[ProviderCheck]:
    """Does the configured server answer, offer the model, and accept images."""
    from assetctl.providers.base import ProviderCheck
    from assetctl.providers.registry import make_provider

    config = provider_config(settings)
    try:
        provider = make_provider(config)
    except ServiceUnavailableError as exc:  # an embedded provider that cannot load
        detail = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
        return [ProviderCheck("provider", False, detail)]
    try:
        return provider.check()
    finally:
        provider.close()
