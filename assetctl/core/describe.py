"""AI descriptions of assets from local photos.

`collect_targets` expands the command line into files (and the asset each belongs to),
`check_assets` confirms those assets exist before any model time is spent, `describe_all`
normalises and sends the photos with bounded concurrency and returns one result per file
(a failure never loses the others), and `save_descriptions` stores the successful ones.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetctl.config import Settings
from assetctl.core.describe_prompt import (
    DEFAULT_PROMPT,
    SCHEMA,
    STRUCTURED_SUFFIX,
    validate_structured,
)
from assetctl.core.images import IMAGE_SUFFIXES, SUPPORTED, prepare_image
from assetctl.errors import AssetctlError, ExitStatus, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.core.assets import Change
    from assetctl.providers.base import (
        ProviderCheck,
        ProviderConfig,
        VisionProvider,
        VisionRequest,
    )

log = logging.getLogger(__name__)

MAX_TOKENS = 512
TEMPERATURE = 0.1
# Failure classes, most severe first: the command exits with the most severe one seen.
SEVERITY = (ExitStatus.UNAVAILABLE, ExitStatus.NOT_FOUND, ExitStatus.USAGE)


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
            "at": at.isoformat().replace("+00:00", "Z"),
        }
        if self.details is not None:
            source["details"] = self.details
        return source


def provider_config(settings: Settings) -> ProviderConfig:
    """The provider settings in effect: the preset's base URL unless one is configured."""
    from assetctl.providers.base import ProviderConfig
    from assetctl.providers.registry import PRESETS

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


def check_assets(session: Session, refs: Sequence[str]) -> dict[str, str | NotFoundError]:
    """Each reference's asset tag, or the NotFoundError it raises (nothing is written)."""
    from assetctl.core.assets import get_asset

    found: dict[str, str | NotFoundError] = {}
    for ref in dict.fromkeys(refs):
        try:
            found[ref] = str(get_asset(session, ref)["tag"])
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


def _failed(target: Target, provider: str, error: AssetctlError) -> FileResult:
    return FileResult(
        file=target.file,
        asset=target.asset,
        provider=provider,
        error=error.message,
        hint=error.hint,
        exit_status=int(error.exit_status),
        error_type=error.kind,
    )


def describe_all(
    targets: Sequence[Target],
    provider: VisionProvider,
    options: DescribeOptions,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Describe every target with at most `options.concurrency` in flight; results are in
    input order. `on_result` is called (in this thread) as each file finishes.

    If the server refuses connections or times out, files not yet sent are failed with
    that reason instead of each waiting for the same timeout.
    """
    name = provider.config.preset
    results: list[FileResult | None] = [None] * len(targets)
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    done: queue.SimpleQueue[tuple[int, FileResult]] = queue.SimpleQueue()
    stop = _Stop()
    # Decoding and resizing is CPU work: more of it at once than there are cores only adds
    # thrashing, while the network side keeps `concurrency` requests in flight.
    cpu_slots = threading.BoundedSemaphore(max(1, min(_cpus(), options.concurrency)))
    pending = 0
    for index, target in enumerate(targets):
        if target.error is not None:
            results[index] = _failed(target, name, target.error)
            if on_result:
                on_result(results[index])  # type: ignore[arg-type]
        else:
            work.put(index)
            pending += 1

    def worker() -> None:
        while True:
            try:
                index = work.get_nowait()
            except queue.Empty:
                return
            target = targets[index]
            try:
                result = _describe_one(target, provider, options, stop, cpu_slots)
            except Exception as exc:
                log.debug("describing %s failed", target.file, exc_info=True)
                result = FileResult(
                    target.file, target.asset, name, error=f"{target.file}: internal error: "
                    f"{type(exc).__name__}: {exc}", exit_status=int(ExitStatus.ERROR),
                )  # fmt: skip
            done.put((index, result))

    # Daemon threads: Ctrl-C ends the command at once instead of waiting for model answers.
    for _ in range(min(options.concurrency, pending)):
        threading.Thread(target=worker, name="assetctl-describe", daemon=True).start()
    for _ in range(pending):
        index, result = _next(done)
        results[index] = result
        if on_result:
            on_result(result)
    return [r for r in results if r is not None]


def _next(done: queue.SimpleQueue[tuple[int, FileResult]]) -> tuple[int, FileResult]:
    while True:  # a timeout keeps the main thread responsive to Ctrl-C
        try:
            return done.get(timeout=0.5)
        except queue.Empty:
            continue


class _Stop:
    """Set by the first unreachable-server error; later files are not sent."""

    def __init__(self) -> None:
        self.error: AssetctlError | None = None
        self._lock = threading.Lock()

    def set(self, error: AssetctlError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error


def _cpus() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _describe_one(
    target: Target,
    provider: VisionProvider,
    options: DescribeOptions,
    stop: _Stop,
    cpu_slots: threading.BoundedSemaphore,
) -> FileResult:
    from assetctl.providers.base import ProviderUnreachableError, VisionRequest

    name = provider.config.preset
    started = time.perf_counter()
    assert target.path is not None
    try:
        with cpu_slots:
            image = prepare_image(
                target.path, max_bytes=options.max_bytes, max_edge=options.max_edge
            )
    except AssetctlError as exc:
        return _failed(target, name, exc)
    if stop.error is not None:
        return _failed(target, name, _not_sent(target, stop.error))
    prompt = options.prompt or DEFAULT_PROMPT
    result = FileResult(target.file, target.asset, name)
    try:
        if options.structured:
            request = VisionRequest(prompt + STRUCTURED_SUFFIX, image.jpeg, SCHEMA, MAX_TOKENS)
            _structured(result, provider, request, VisionRequest(prompt, image.jpeg))
        else:
            _plain(result, provider, VisionRequest(prompt, image.jpeg, None, MAX_TOKENS))
    except ProviderUnreachableError as exc:
        stop.set(exc)
        return _failed(target, name, _named(target, exc))
    except AssetctlError as exc:
        return _failed(target, name, _named(target, exc))
    result.seconds = round(time.perf_counter() - started, 3)
    result.described_at = datetime.now(UTC)
    return result


def _named(target: Target, exc: AssetctlError) -> AssetctlError:
    return type(exc)(f"{target.file}: {exc.message}", hint=exc.hint)


def _not_sent(target: Target, cause: AssetctlError) -> AssetctlError:
    return type(cause)(f"{target.file}: not sent, because {cause.message}", hint=cause.hint)


def _plain(result: FileResult, provider: VisionProvider, request: VisionRequest) -> None:
    reply = provider.describe(request)
    result.description, result.model = reply.text, reply.model
    if reply.truncated:
        result.warnings.append(
            f"{result.file}: the model stopped at its {request.max_tokens}-token limit; "
            "the description may be cut short"
        )


def _structured(
    result: FileResult,
    provider: VisionProvider,
    request: VisionRequest,
    fallback: VisionRequest,
) -> None:
    """Ask for JSON against SCHEMA, validate, retry once, then fall back to plain text."""
    problem = ""
    for _attempt in range(2):
        reply = provider.describe(request)
        details, problem = validate_structured(reply.text)
        if details is not None:
            result.details, result.model = details, reply.model
            result.description = details["description"]
            return
        log.info("%s: structured answer rejected: %s", result.file, problem)
    result.warnings.append(
        f"{result.file}: the model's JSON did not match the schema twice ({problem}); "
        "fell back to a plain-text description"
    )
    _plain(result, provider, fallback)


def exit_status(results: Sequence[FileResult]) -> int:
    """0 if every file succeeded, else the most severe failure class seen (7 > 3 > 2)."""
    codes = {r.exit_status for r in results if not r.ok}
    if not codes:
        return int(ExitStatus.SUCCESS)
    for status in (ExitStatus.ERROR, *SEVERITY):
        if int(status) in codes:
            return int(status)
    return max(codes)


def save_descriptions(session: Session, actor: str, results: Sequence[FileResult]) -> list[Change]:
    """Store each successful description on its asset, with its source and a history event,
    all in this one transaction."""
    from assetctl.core.assets import set_description

    return [
        set_description(session, actor, r.asset, r.description, r.source())
        for r in results
        if r.ok and r.asset is not None and r.description is not None
    ]


def check_provider(settings: Settings) -> list[ProviderCheck]:
    """Does the configured server answer, offer the model, and accept images."""
    from assetctl.providers.registry import make_provider

    provider = make_provider(provider_config(settings))
    try:
        return provider.check()
    finally:
        provider.close()


def describe_files(
    settings: Settings,
    targets: Sequence[Target],
    options: DescribeOptions,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Describe `targets` with the provider `settings` name (see `describe_all`)."""
    from assetctl.providers.registry import make_provider

    provider = make_provider(provider_config(settings))
    try:
        return describe_all(targets, provider, options, on_result)
    finally:
        provider.close()
