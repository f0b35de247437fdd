"""Running photos through a vision provider: prepare on CPU threads, send on I/O threads.

Each photo costs CPU (decode, resize, re-encode: tens of milliseconds for a camera photo)
and then a long wait for the model. If one thread did both for a photo, every round trip
would carry its preparation time, and the CPU would sit idle whenever all requests were
waiting. So preparation runs ahead on as many threads as there are cores (Pillow releases
the GIL), handing the photos, in input order, through a small bounded queue to `concurrency`
sender threads that keep that many requests in flight. Photos are sent in the order given,
and the queue bound keeps memory flat however many photos there are.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from assetctl.config import Settings
from assetctl.core.describe.images import (
    PreparedImage,
    limit_pixels,
    prepare_image,
    reuse_buffers,
)
from assetctl.core.describe.prompt import (
    DEFAULT_PROMPT,
    SCHEMA,
    STRUCTURED_SUFFIX,
    validate_structured,
)
from assetctl.core.describe.service import (
    DescribeOptions,
    FileResult,
    Target,
    failed_result,
    provider_config,
)
from assetctl.errors import AssetctlError, ExitStatus

if TYPE_CHECKING:
    from assetctl.providers.base import VisionProvider, VisionRequest

log = logging.getLogger(__name__)

MAX_TOKENS = 512

# What the preparers hand to the senders, in input order: the target's index and the future
# of its JPEG with the seconds the preparation took; None: there is nothing more to come.
_Prepared = tuple[int, "Future[tuple[PreparedImage, float]]"] | None


def describe_files(
    settings: Settings,
    targets: Sequence[Target],
    options: DescribeOptions,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Describe `targets` with the provider `settings` name (see `describe_all`)."""
    from assetctl.providers.presets import OCR
    from assetctl.providers.registry import provider_factory

    config = provider_config(settings)
    factory = provider_factory(config.kind)  # an unknown kind fails before any photo is read
    if config.kind == OCR:
        # The embedded model uses every core for one photo; photos take turns, so one
        # sender suffices and each photo's `seconds` is its own work, not a wait for a turn.
        options = replace(options, concurrency=1)
    return describe_all(targets, config.preset, lambda: factory(config), options, on_result)


def describe_all(
    targets: Sequence[Target],
    name: str,
    connect: Callable[[], VisionProvider],
    options: DescribeOptions,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Describe every target with at most `options.concurrency` requests in flight through
    the provider `connect()` makes (and this closes); results are in input order.
    `on_result` is called (in this thread) as each file finishes.

    If the server refuses connections or times out, files not yet sent are failed with
    that reason instead of each waiting for the same timeout.
    """
    results: list[FileResult | None] = [None] * len(targets)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    done: queue.SimpleQueue[tuple[int, FileResult]] = queue.SimpleQueue()
    for index, target in enumerate(targets):
        if target.error is not None:
            results[index] = failed_result(target, name, target.error)
            if on_result:
                on_result(results[index])  # type: ignore[arg-type]
        else:
            todo.put(index)
    pending = todo.qsize()
    run = _Run(targets, name, options, done)
    if pending:
        run.prepare(todo, workers=min(_cpus(), pending), senders=min(options.concurrency, pending))
    # Connecting imports and sets up the HTTP client (~0.1 s) while the first photos are
    # being prepared on the other cores.
    provider = connect()
    try:
        if pending:
            run.send(provider)
        for _ in range(pending):
            index, result = _next(done)
            results[index] = result
            if on_result:
                on_result(result)
    finally:
        provider.close()
    return [r for r in results if r is not None]


class _Run:
    """The threads of one `describe_all` call and what they share."""

    def __init__(
        self,
        targets: Sequence[Target],
        name: str,
        options: DescribeOptions,
        done: queue.SimpleQueue[tuple[int, FileResult]],
    ) -> None:
        self.targets = targets
        self.name = name
        self.options = options
        self.done = done
        # Enough prepared photos for every sender to pick one up the moment it is free.
        self.ready: queue.Queue[_Prepared] = queue.Queue(maxsize=max(1, options.concurrency))
        # Set by the first unreachable-server error; later files are not sent.
        self.stop_error: AssetctlError | None = None
        self._lock = threading.Lock()
        self._claim = threading.Lock()
        self._preparers_left = 0
        self._senders = 0

    # All threads are daemons: Ctrl-C ends the command at once instead of waiting for answers.

    def prepare(self, todo: queue.SimpleQueue[int], *, workers: int, senders: int) -> None:
        """Start `workers` threads preparing photos for `senders` sender threads."""
        self._preparers_left, self._senders = workers, senders
        reuse_buffers(workers)
        limit_pixels()
        for _ in range(workers):
            threading.Thread(
                target=self._prepare_all, args=(todo,), name="assetctl-prepare", daemon=True
            ).start()

    def send(self, provider: VisionProvider) -> None:
        """Start the sender threads, each sending prepared photos one at a time."""
        for _ in range(self._senders):
            threading.Thread(
                target=self._send_all, args=(provider,), name="assetctl-send", daemon=True
            ).start()

    def _prepare_all(self, todo: queue.SimpleQueue[int]) -> None:
        try:
            while True:
                # Claiming and queueing under one lock keeps `ready` in input order, so
                # photos are sent in the order given however the preparations interleave.
                # The photo is queued before it is prepared: its future says when it is.
                with self._claim:
                    try:
                        index = todo.get_nowait()
                    except queue.Empty:
                        return
                    future: Future[tuple[PreparedImage, float]] = Future()
                    self.ready.put((index, future))  # blocks while `concurrency` are ahead
                target = self.targets[index]
                started = time.perf_counter()
                try:
                    assert target.path is not None
                    image = prepare_image(
                        target.path,
                        max_bytes=self.options.max_bytes,
                        max_edge=self.options.max_edge,
                        max_pixels=self.options.max_pixels,
                    )
                except Exception as exc:  # noqa: BLE001 - re-raised by the sender's result()
                    future.set_exception(exc)
                else:
                    future.set_result((image, time.perf_counter() - started))
        finally:
            with self._lock:
                self._preparers_left -= 1
                last = self._preparers_left == 0
            if last:  # every photo is in `ready` by now: the sentinels come after them
                for _ in range(self._senders):
                    self.ready.put(None)

    def _send_all(self, provider: VisionProvider) -> None:
        while (item := self.ready.get()) is not None:
            index, future = item
            target = self.targets[index]
            try:
                image, prepare_seconds = future.result()
                result = self._send(provider, target, image, prepare_seconds)
            except AssetctlError as exc:  # the photo itself: missing, empty, corrupt...
                result = failed_result(target, self.name, exc)
            except Exception as exc:
                log.debug("describing %s failed", target.file, exc_info=True)
                result = self._internal_error(target, exc)
            self.done.put((index, result))

    def _send(
        self, provider: VisionProvider, target: Target, image: PreparedImage, seconds: float
    ) -> FileResult:
        from assetctl.providers.base import ProviderUnreachableError, VisionRequest

        if self.stop_error is not None:
            return failed_result(target, self.name, _not_sent(target, self.stop_error))
        started = time.perf_counter()
        prompt = self.options.prompt or DEFAULT_PROMPT
        result = FileResult(target.file, target.asset, self.name)
        try:
            if provider.reads_text:
                _read_text(result, provider, VisionRequest(prompt, image.jpeg), self.options)
            elif self.options.structured:
                request = VisionRequest(prompt + STRUCTURED_SUFFIX, image.jpeg, SCHEMA, MAX_TOKENS)
                _structured(result, provider, request, VisionRequest(prompt, image.jpeg))
            else:
                request = VisionRequest(prompt, image.jpeg, None, MAX_TOKENS)
                _plain(result, provider, request)
        except ProviderUnreachableError as exc:
            with self._lock:
                if self.stop_error is None:
                    self.stop_error = exc
            return failed_result(target, self.name, _named(target, exc))
        except AssetctlError as exc:
            return failed_result(target, self.name, _named(target, exc))
        # The photo's own work: its preparation and its request, not its time in the queue.
        result.seconds = round(seconds + time.perf_counter() - started, 3)
        result.described_at = datetime.now(UTC)
        return result

    def _internal_error(self, target: Target, exc: Exception) -> FileResult:
        return FileResult(
            target.file, target.asset, self.name, error=f"{target.file}: internal error: "
            f"{type(exc).__name__}: {exc}", exit_status=int(ExitStatus.ERROR),
        )  # fmt: skip


def _next(done: queue.SimpleQueue[tuple[int, FileResult]]) -> tuple[int, FileResult]:
    while True:  # a timeout keeps the main thread responsive to Ctrl-C
        try:
            return done.get(timeout=0.5)
        except queue.Empty:
            continue


def _cpus() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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


def _read_text(
    result: FileResult, provider: VisionProvider, request: VisionRequest, options: DescribeOptions
) -> None:
    """An OCR provider: the description is the text read; `--structured` derives its fields
    from that text (never invented: a photo without text has no identifiers)."""
    from assetctl.core.describe.identifiers import text_details

    reply = provider.describe(request)
    result.description, result.model = reply.text, reply.model
    if options.structured:
        result.details = text_details(reply.text.splitlines())


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
