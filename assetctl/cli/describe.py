"""`assetctl describe IMAGE...`: describe assets from photos with a vision-language model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assetctl.cli.render import Output, render_list, resolve_format
from assetctl.cli.state import AppState, Effect, get_state
from assetctl.errors import InvalidInputError
from assetctl.json_values import dumps, json_escape_invisible, visible
from assetctl.providers.presets import OCR, preset_names
from assetctl.writers import View, make_writer

if TYPE_CHECKING:
    from assetctl.config import Settings
    from assetctl.core.describe.service import FileResult, Target

FIELDS = ("file", "asset", "description", "details", "model", "provider", "seconds", "error")
COLUMNS = ("file", "asset", "description", "error")


def describe(
    ctx: typer.Context,
    images: Annotated[
        list[str] | None,
        typer.Argument(
            help="Photo files, or directories of photos (not recursive).", show_default=False
        ),
    ] = None,
    asset: Annotated[
        str | None, typer.Option("--asset", metavar="REF", help="The asset the photo shows.")
    ] = None,
    tag_from_filename: Annotated[
        bool,
        typer.Option(
            "--tag-from-filename", help="Each photo shows the asset its name gives: LAP-0042.jpg."
        ),
    ] = False,
    save: Annotated[
        bool, typer.Option("--save", help="Store the description on the asset (with history).")
    ] = False,
    provider: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help=f"{preset_names()} [env: ASSETCTL_VLM_PROVIDER].",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(metavar="NAME", help="Model name [env: ASSETCTL_VLM_MODEL].")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="API root of the server [env: ASSETCTL_VLM_BASE_URL]."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS", help="Wait this long for each answer [env: ASSETCTL_VLM_TIMEOUT]."
        ),
    ] = None,
    prompt: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Ask this instead of the default prompt.")
    ] = None,
    structured: Annotated[
        bool,
        typer.Option("--structured", help="Ask for JSON fields (brand, model, condition, ...)."),
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Photos in flight at once (default 4) [env: ASSETCTL_DESCRIBE_CONCURRENCY].",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Only check that the server answers and has the model; no photos."
        ),
    ] = False,
    output: Output = None,
) -> None:
    """Describe assets from photos with a vision model (Ollama, LM Studio, llama.cpp, vLLM
    or any OpenAI-compatible server), or read their text with the embedded OCR
    (--provider ocr, the `ocr` extra, no server); photos are never stored. With --save the
    description is stored on the asset. Exit 0 only if every photo was described; otherwise the most
    severe failure: 7 provider, 3 unknown asset, 2 bad input."""
    from assetctl.config import load_settings
    from assetctl.core.describe import service as core
    from assetctl.core.describe.run import describe_files

    state = get_state(ctx)
    flags = {
        "vlm_provider": provider,
        "vlm_model": model,
        "vlm_base_url": base_url,
        "vlm_timeout": timeout,
        "describe_concurrency": concurrency,
    }
    settings = load_settings(state.factory.env, profile=state.factory.profile, flags=flags)
    if check:
        _check(state, settings)
        return
    if not images:
        raise InvalidInputError(
            "no photos given", hint="pass image files or directories, or --check"
        )
    if prompt is not None and not prompt.strip():
        raise InvalidInputError("--prompt is empty", hint="leave it out to use the default")
    if settings.values["vlm_provider"] == OCR:
        _refuse_for_ocr(save=save, prompt=prompt)
    if asset is not None and tag_from_filename:
        raise InvalidInputError("--asset and --tag-from-filename cannot be used together")
    if save and asset is None and not tag_from_filename:
        raise InvalidInputError(
            "--save needs to know the asset", hint="add --asset REF or --tag-from-filename"
        )
    targets = core.collect_targets(images, asset=asset, tag_from_filename=tag_from_filename)
    if asset is not None and len(targets) > 1:
        raise InvalidInputError(
            f"--asset names one asset, but {len(targets)} photos were given",
            hint="describe one photo per asset, or name the files by tag and use "
            "--tag-from-filename",
        )
    targets = _check_assets_first(state, targets, asset, save=save)

    options = core.DescribeOptions(
        prompt=prompt,
        structured=structured,
        max_bytes=int(settings.values["image_max_bytes"]),
        max_edge=int(settings.values["image_max_edge"]),
        max_pixels=int(settings.values["image_max_pixels"]),
        concurrency=int(settings.values["describe_concurrency"]),
    )
    fmt = resolve_format(state, output)
    # JSON Lines streams each result as it finishes; other formats wait for all, in order.
    stream = make_writer(fmt, state.io.out, View(FIELDS)) if fmt == "jsonl" else None

    def finished(result: FileResult) -> None:
        if stream is not None:
            stream.row(result.record())
            state.io.out.flush()

    with _progress(state, len(targets)) as advance:

        def on_result(result: FileResult) -> None:
            finished(result)
            advance(result)

        results = describe_files(settings, targets, options, on_result)
    if stream is None:
        rows = [r.record() for r in results]
        # People need no empty ASSET/ERROR columns; scripts' TSV keeps every column.
        columns = [c for c in COLUMNS if fmt != "table" or any(row[c] for row in rows)]
        render_list(state, fmt, rows, columns=columns or COLUMNS, fields=FIELDS)
    for result in results:
        for warning in result.warnings:
            state.io.warn(warning)
    if save:
        _save(state, results)
    code = core.exit_status(results)
    _summary(state, results, code, as_json=fmt in ("json", "jsonl"))
    if code:
        raise typer.Exit(code)


def _refuse_for_ocr(*, save: bool, prompt: str | None) -> None:
    """OCR reads text; it neither takes a prompt nor writes a description worth storing."""
    if prompt is not None:
        raise InvalidInputError(
            "--prompt does not apply to --provider ocr: it reads the text in the photo",
            hint="leave --prompt out, or use a vision-model provider",
        )
    if save:
        raise InvalidInputError(
            "--save stores a description, and --provider ocr only reads the text on a label",
            hint="use `assetctl asset add --from-photo PHOTO` to add an asset from what it "
            "reads, or a vision-model provider to save descriptions",
        )


def _check_assets_first(
    state: AppState, targets: list[Target], asset: str | None, *, save: bool
) -> list[Target]:
    """Before any model time is spent: the caller may save, and the named assets exist.
    An unknown `--asset` ends the command (exit 3); with --tag-from-filename only that
    photo is failed."""
    from assetctl.core.describe.service import apply_asset_check, check_assets

    refs = [t.asset for t in targets if t.asset is not None and t.error is None]
    if not refs:
        return targets
    found = state.run(Effect.READ, check_assets, refs, for_saving=save)
    outcome = found[asset] if asset is not None else None
    if outcome is not None and not isinstance(outcome, str):
        raise outcome
    return apply_asset_check(targets, found)


def _save(state: AppState, results: list[FileResult]) -> None:
    from assetctl.core.describe.service import save_descriptions

    if not any(r.ok for r in results):
        return
    changes = state.run(Effect.DATA, save_descriptions, results)
    for change in changes:
        state.io.info(f"Saved the description on asset {change.asset['tag']}.")


def _summary(state: AppState, results: list[FileResult], code: int, *, as_json: bool) -> None:
    failed = [r for r in results if not r.ok]
    if not failed:
        if len(results) > 1:
            state.io.info(f"Described {len(results)} photos.")
        return
    summary = f"{len(failed)} of {len(results)} photos failed: " + ", ".join(r.file for r in failed)
    if as_json:
        # One error object per failed file, then the summary: each line is one JSON object.
        for r in failed:
            error = {"code": r.exit_status, "type": r.error_type, "message": r.error}
            error |= {"hint": r.hint} if r.hint else {}
            state.io.err.write(json_escape_invisible(dumps({"error": {**error, "file": r.file}})))
            state.io.err.write("\n")
        payload = {"code": code, "type": "describe", "message": summary}
        files = [r.file for r in failed]
        state.io.err.write(json_escape_invisible(dumps({"error": {**payload, "files": files}})))
        state.io.err.write("\n")
        return
    hints: dict[str, None] = {}
    for result in failed:
        state.io.say(f"error: {result.error}")
        if result.hint:
            hints[result.hint] = None
    for hint in hints:
        state.io.say(f"hint: {hint}")
    state.io.say(summary)


@contextmanager
def _progress(state: AppState, total: int) -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr when it is a terminal; otherwise nothing."""
    if state.io.quiet or total < 2 or not state.io.err.isatty():
        yield lambda _result: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=state.io.err, no_color=not state.io.color)
    columns = (TextColumn("describing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("describe", total=total)
        yield lambda _result: bar.advance(task)


def _check(state: AppState, settings: Settings) -> None:
    from assetctl.core.describe.service import check_provider
    from assetctl.errors import ExitStatus

    checks = check_provider(settings)
    for item in checks:
        mark = {True: "ok  ", False: "FAIL", None: "--  "}[item.ok]
        print(f"{mark} {item.name.ljust(8)}  {visible(item.detail)}", file=state.io.out)
    if any(item.ok is False for item in checks):
        raise typer.Exit(int(ExitStatus.UNAVAILABLE))
