"""`assetctl describe` end to end against fake Ollama and OpenAI-compatible servers."""

from __future__ import annotations

import base64
import json
import signal
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETCTL_BIN, Cli, CliResult, add_args, base_env, wait_for
from tests.vlm_fakes import (
    API_KEY,
    DESCRIPTION,
    STRUCTURED,
    FakeOllama,
    FakeOpenAI,
    Reply,
    make_photo,
    refused_url,
)

RECORD_FIELDS = {"file", "asset", "description", "details", "model", "provider", "seconds", "error"}


def ollama_env(server: FakeOllama) -> dict[str, str]:
    return {"ASSETCTL_VLM_PROVIDER": "ollama", "ASSETCTL_VLM_BASE_URL": server.url}


def openai_env(server: FakeOpenAI) -> dict[str, str]:
    return {
        "ASSETCTL_VLM_PROVIDER": "vllm",
        "ASSETCTL_VLM_BASE_URL": server.url + "/v1",
        "ASSETCTL_VLM_API_KEY": API_KEY,
    }


@pytest.fixture
def vcli(tmp_path: Path, ollama: FakeOllama) -> Cli:
    """The CLI with no database and the fake Ollama configured through the environment."""
    return Cli({**base_env(tmp_path), **ollama_env(ollama)})


def records(result: CliResult) -> dict[str, dict[str, Any]]:
    """JSON Lines output by file name (lines come in completion order)."""
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    for row in rows:
        assert set(row) == RECORD_FIELDS
    return {Path(row["file"]).name: row for row in rows}


def photo(tmp_path: Path, name: str = "photo.jpg", **kwargs: Any) -> str:
    fmt = kwargs.pop("fmt", "JPEG")
    return str(make_photo(tmp_path / name, fmt, **kwargs))


# --- the main path ------------------------------------------------------------------------


def test_describes_a_photo_through_ollama(vcli: Cli, ollama: FakeOllama, tmp_path: Path) -> None:
    result = vcli("describe", photo(tmp_path), "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    row = records(result)["photo.jpg"]
    assert row["description"] == DESCRIPTION
    assert (row["provider"], row["model"], row["error"], row["asset"]) == (
        "ollama", "smolvlm2", None, None,
    )  # fmt: skip
    assert isinstance(row["seconds"], float)
    [request] = ollama.chat_requests()
    body = request.body
    assert body["stream"] is False
    assert body["model"] == "smolvlm2"
    assert set(body["options"]) == {"temperature", "num_predict"}
    assert "keep_alive" in body and "format" not in body
    [message] = body["messages"]
    assert "unknown" in message["content"]  # the default prompt says not to guess
    assert not message["images"][0].startswith("data:")
    assert base64.b64decode(message["images"][0])[:3] == b"\xff\xd8\xff"


def test_describes_through_an_openai_compatible_server_with_a_key(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    cli = Cli({**base_env(tmp_path), **openai_env(openai_server)})
    result = cli.sub("-v", "--debug", "describe", photo(tmp_path), "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert "HTTP Request: POST" in result.stderr  # the debug log really was on
    [row] = result.json()
    assert (row["description"], row["provider"]) == (DESCRIPTION, "vllm")
    [request] = openai_server.chat_requests()
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["temperature"] is not None and request.body["max_tokens"] > 0
    parts = request.body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url"]
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert API_KEY not in result.stdout + result.stderr


def test_plain_output_for_scripts_is_one_tab_separated_row_per_photo(
    vcli: Cli, tmp_path: Path
) -> None:
    result = vcli("describe", photo(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'photo.jpg'}\t\t{DESCRIPTION}\t\n"


def test_installed_entry_point_describes_a_folder(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    folder = tmp_path / "intake"
    folder.mkdir()
    for name in ("a.jpg", "b.png", "c.webp"):
        make_photo(folder / name, {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[name.split(".")[1]])
    (folder / "notes.txt").write_text("not a photo\n")
    result = vcli.sub("describe", str(folder), "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert sorted(records(result)) == ["a.jpg", "b.png", "c.webp"]
    assert len(ollama.chat_requests()) == 3


def test_every_supported_format_is_normalised_to_an_upright_bounded_jpeg(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    files = [
        photo(tmp_path, "rotated.jpg", size=(800, 400), orientation=6),
        photo(tmp_path, "alpha.png", fmt="PNG", size=(800, 400), mode="RGBA"),
        photo(tmp_path, "grey.webp", fmt="WEBP", size=(800, 400), mode="L"),
        photo(tmp_path, "anim.gif", fmt="GIF", size=(800, 400)),
        photo(tmp_path, "scan.bmp", fmt="BMP", size=(800, 400)),
        photo(tmp_path, "scan.tiff", fmt="TIFF", size=(800, 400)),
        # The type comes from the content, not the name.
        photo(tmp_path, "misnamed.jpg", fmt="PNG", size=(800, 400)),
    ]
    result = vcli("describe", *files, "-o", "jsonl", env={"ASSETCTL_IMAGE_MAX_EDGE": "200"})
    assert result.exit_code == 0, result.stderr
    assert all(row["error"] is None for row in records(result).values())
    sizes = sorted(r.image_sizes[0] for r in ollama.chat_requests())
    # EXIF orientation 6 turns 800x400 into a portrait 400x800, bounded to 100x200.
    assert sizes == [(100, 200)] + [(200, 100)] * 6


def test_photos_are_sent_concurrently_but_never_more_than_the_limit(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    files = [photo(tmp_path, f"p{i}.jpg") for i in range(6)]
    # Each answer waits until 3 requests are in flight: fails unless they really overlap.
    ollama.gate = threading.Barrier(3, timeout=20)
    result = vcli("describe", *files, "--concurrency", "3", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(records(result)) == 6
    assert ollama.max_in_flight == 3


def test_photos_are_sent_in_the_order_given(vcli: Cli, ollama: FakeOllama, tmp_path: Path) -> None:
    """Preparation runs on several threads, but a slow first photo is still sent first."""
    files = [photo(tmp_path, "p0.png", fmt="PNG", size=(6000, 4000))]  # slow to prepare
    files += [photo(tmp_path, f"p{i}.jpg", size=(40 + i, 30)) for i in range(1, 6)]
    result = vcli("describe", *files, "--concurrency", "1", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    widths = [r.image_sizes[0][0] for r in ollama.chat_requests()]
    assert widths == [1536, 41, 42, 43, 44, 45]


def test_photos_are_prepared_ahead_of_sending_but_only_a_bounded_number(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetctl.core.describe import run as describe_run
    from assetctl.core.describe.images import prepare_image

    files = [photo(tmp_path, f"p{i}.jpg") for i in range(30)]
    prepared: list[str] = []

    def counting_prepare(path: Path, **kwargs: Any) -> Any:
        prepared.append(path.name)
        return prepare_image(path, **kwargs)

    monkeypatch.setattr("assetctl.core.describe.run.prepare_image", counting_prepare)
    release = threading.Event()
    ollama.reply = lambda _captured: None if release.wait(20) else Reply(500, {"error": "held"})
    outcome: list[CliResult] = []
    command = threading.Thread(
        target=lambda: outcome.append(vcli("describe", *files, "--concurrency", "2"))
    )
    command.start()
    try:
        # Two requests held by the server, two prepared photos queued for the senders, and
        # at most one more being prepared (or waiting to be queued) per preparing thread.
        limit = 2 + 2 + describe_run._cpus()
        deadline = time.monotonic() + 10
        while len(ollama.chat_requests()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)  # time to run further ahead, if it were unbounded
        assert len(ollama.chat_requests()) == 2
        assert 4 <= len(prepared) <= limit
    finally:
        release.set()
        command.join(30)
    assert outcome[0].exit_code == 0, outcome[0].stderr
    assert sorted(prepared) == sorted(Path(f).name for f in files)
    assert len(ollama.chat_requests()) == 30


# --- bad input ------------------------------------------------------------------------------


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, what stderr must say about it)."""
    truncated = tmp_path / "truncated.jpg"
    make_photo(truncated, size=(800, 600))
    truncated.write_bytes(truncated.read_bytes()[:2000])
    text = tmp_path / "readme.jpg"
    text.write_text("These are not the pixels you are looking for.\n")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    heic = tmp_path / "iphone.heic"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200)
    big = tmp_path / "big.png"
    make_photo(big, "PNG", size=(300, 300))
    nothing = tmp_path / "no-images"
    nothing.mkdir()
    (nothing / "list.txt").write_text("x")
    return {
        "missing": (str(tmp_path / "missing.jpg"), "no such file"),
        "directory": (str(nothing), "contains no image files"),
        "empty": (str(empty), "empty (0 bytes)"),
        "text": (str(text), "not a supported image (the content is text)"),
        "truncated": (str(truncated), "JPEG image is truncated"),
        "heic": (str(heic), "HEIC photos are not supported"),
        "oversized": (str(big), "over the limit of 100 bytes"),
    }


@pytest.mark.parametrize(
    "case", ["missing", "directory", "empty", "text", "truncated", "heic", "oversized"]
)
def test_bad_input_exits_2_naming_the_file_and_keeps_the_other_results(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path, case: str
) -> None:
    bad, message = _bad_inputs(tmp_path)[case]
    good = photo(tmp_path, "good.jpg")
    env = {"ASSETCTL_IMAGE_MAX_BYTES": "100"} if case == "oversized" else {}
    if case == "oversized":  # the good photo must fit the small limit too: a 1x1 JPEG
        good = photo(tmp_path, "good.jpg", size=(1, 1))
        env["ASSETCTL_IMAGE_MAX_BYTES"] = str(Path(good).stat().st_size)
        message = f"over the limit of {Path(good).stat().st_size} bytes"
    result = vcli("describe", bad, good, env=env)
    assert result.exit_code == 2, result.stderr
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith(f"error: {bad}: ")]
    assert message in line
    assert f"1 of 2 photos failed: {bad}" in result.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert rows[good] == [good, "", DESCRIPTION, ""]
    assert message in rows[bad][3]
    assert len(ollama.chat_requests()) == 1  # only the good photo reached the model


def test_no_photos_at_all_is_a_usage_error(vcli: Cli, ollama: FakeOllama) -> None:
    result = vcli("describe")
    assert result.exit_code == 2
    assert "no photos given" in result.stderr
    assert ollama.requests == []


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--base-url", "localhost:11434", "vlm_base_url"),
        ("--base-url", "ftp://127.0.0.1/", "vlm_base_url"),
        ("--base-url", "http://127.0.0.1:99999", "Port out of range"),
        ("--provider", "bard", "expected one of ollama, lmstudio, llamacpp, vllm, openai"),
        ("--timeout", "0", "vlm_timeout"),
    ],
)
def test_invalid_provider_settings_exit_2_before_any_request(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path, flag: str, value: str, message: str
) -> None:
    result = vcli("describe", photo(tmp_path), flag, value)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert ollama.requests == []


def test_invalid_base_url_from_the_environment_exits_2(tmp_path: Path) -> None:
    cli = Cli({**base_env(tmp_path), "ASSETCTL_VLM_BASE_URL": "127.0.0.1:11434"})
    result = cli("describe", photo(tmp_path))
    assert result.exit_code == 2
    assert "invalid value for vlm_base_url (from env ASSETCTL_VLM_BASE_URL)" in result.stderr


def test_flags_override_the_environment(tmp_path: Path, ollama: FakeOllama) -> None:
    cli = Cli({**base_env(tmp_path), "ASSETCTL_VLM_BASE_URL": refused_url()})
    result = cli("describe", photo(tmp_path), "--base-url", ollama.url, "--model", "smolvlm2")
    assert result.exit_code == 0, result.stderr
    assert len(ollama.chat_requests()) == 1


# --- provider faults ------------------------------------------------------------------------


def test_connection_refused_exits_7_with_the_url(tmp_path: Path) -> None:
    url = refused_url()
    cli = Cli({**base_env(tmp_path), "ASSETCTL_VLM_BASE_URL": url})
    result = cli("describe", photo(tmp_path, "a.jpg"), photo(tmp_path, "b.jpg"))
    assert result.exit_code == 7
    assert f"cannot connect to ollama at {url}: connection refused" in result.stderr
    assert "2 of 2 photos failed" in result.stderr


def test_https_verifies_the_server_certificate(tmp_path: Path) -> None:
    """Plain-http servers skip the CA bundle; an https:// one is verified, and trusting its
    CA through SSL_CERT_FILE is enough."""
    from tests.alert_fakes import self_signed_cert

    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = FakeOllama().start(tls=context)
    try:
        assert server.url.startswith("https://")
        env = {**base_env(tmp_path), **ollama_env(server)}
        env.pop("SSL_CERT_FILE", None)
        result = Cli(env)("describe", photo(tmp_path))
        assert result.exit_code == 7
        assert (
            f"cannot connect to ollama at {server.url}: its TLS certificate is not trusted "
            "(self-signed certificate)" in result.stderr
        )
        assert "set SSL_CERT_FILE to it" in result.stderr
        assert server.chat_requests() == []

        trusted = Cli({**env, "SSL_CERT_FILE": str(cert)})("describe", photo(tmp_path))
        assert trusted.exit_code == 0, trusted.stderr
        assert DESCRIPTION in trusted.stdout
        assert len(server.chat_requests()) == 1
    finally:
        server.stop()


def test_a_hanging_server_times_out_with_7_and_later_photos_are_not_sent(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    ollama.hang = True
    files = [photo(tmp_path, f"p{i}.jpg") for i in range(3)]
    result = vcli("describe", *files, "--timeout", "0.5", "--concurrency", "1", "-o", "jsonl")
    assert result.exit_code == 7
    errors = [json.loads(line)["error"] for line in result.stderr.splitlines()]
    assert f"ollama at {ollama.url} did not answer within 0.5 s" in errors[0]["message"]
    assert [e["code"] for e in errors] == [7, 7, 7, 7]
    assert errors[-1]["files"] == files
    rows = records(result)
    assert "did not answer" in rows["p0.jpg"]["error"]
    assert "not sent" in rows["p1.jpg"]["error"] and "not sent" in rows["p2.jpg"]["error"]
    assert len(ollama.chat_requests()) == 1


OLLAMA_MEMORY = "model requires more system memory (5.6 GiB) than is available (3.1 GiB)"


def test_ctrl_c_while_the_model_works_exits_130_without_waiting(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    """The threads preparing and sending photos must not keep a user's Ctrl-C waiting for
    answers (the read timeout is minutes, for cold model loads)."""
    ollama.hang = True
    files = [photo(tmp_path, f"p{i}.jpg") for i in range(6)]
    proc = subprocess.Popen(
        [str(ASSETCTL_BIN), "describe", *files, "--concurrency", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=vcli.env,
    )
    try:
        wait_for(lambda: len(ollama.chat_requests()) == 2, "two requests in flight")
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)  # the server would hold them for 60 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert len(ollama.chat_requests()) == 2


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, 'model "missing-model" not found, try pulling it first'),
        (Reply(500, {"error": OLLAMA_MEMORY}), f"failed (HTTP 500): {OLLAMA_MEMORY}"),
        (Reply(200, b""), "returned an empty response"),
        (Reply(200, b"<html>proxy error</html>", "text/html"), "not JSON: <html>proxy"),
        (Reply(200, {"model": "smolvlm2", "done": True}), "malformed response"),
        (Reply(502, b"Bad Gateway", "text/plain"), "failed (HTTP 502): Bad Gateway"),
    ],
    ids=["404-model", "500-memory", "empty", "not-json", "no-message", "502-text"],
)
def test_ollama_errors_exit_7_with_the_servers_message(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path, reply: Reply | None, message: str
) -> None:
    ollama.reply = lambda _request: reply
    model = ["--model", "missing-model"] if reply is None else []
    result = vcli("describe", photo(tmp_path), *model)
    assert result.exit_code == 7, result.stderr
    assert f"ollama at {ollama.url}" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, "The model `missing-model` does not exist or you do not have access to it."),
        # LM Studio answers errors with a bare string where OpenAI has an object.
        (Reply(404, {"error": "No models loaded. Please load a model first."}), "No models"),
        (Reply(400, "Model is not a vision model"), "Model is not a vision model"),
        (Reply(500, {"error": {"message": "CUDA out of memory"}}), "HTTP 500): CUDA out of"),
        (Reply(200, {"choices": []}), "malformed response: no choices"),
        (Reply(200, b"{not json"), "not JSON"),
    ],
    ids=["openai-404", "lmstudio-string", "bare-json-string", "500", "no-choices", "malformed"],
)
def test_openai_compatible_errors_exit_7_with_the_servers_message(
    tmp_path: Path, openai_server: FakeOpenAI, reply: Reply | None, message: str
) -> None:
    openai_server.reply = lambda _request: reply
    cli = Cli({**base_env(tmp_path), **openai_env(openai_server)})
    model = ["--model", "missing-model"] if reply is None else []
    result = cli("describe", photo(tmp_path), *model)
    assert result.exit_code == 7, result.stderr
    assert f"vllm at {openai_server.url}/v1" in result.stderr
    assert message in result.stderr
    assert API_KEY not in result.stdout + result.stderr


def test_a_wrong_api_key_exits_7_without_echoing_any_key(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    cli = Cli({**base_env(tmp_path), **openai_env(openai_server)})
    # A real process, so that -v --debug really configure logging (pytest owns it in-process).
    result = cli.sub("-v", "--debug", "describe", photo(tmp_path),
                     env={"ASSETCTL_VLM_API_KEY": "sk-wrong-key"})  # fmt: skip
    assert result.exit_code == 7
    assert "HTTP Request: POST" in result.stderr  # the debug log really was on
    assert "rejected the request (HTTP 401): Incorrect API key provided." in result.stderr
    assert "sk-wrong-key" not in result.stdout + result.stderr


def test_a_provider_failure_outranks_bad_input_in_the_exit_code(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    ollama.reply = lambda _request: Reply(500, {"error": "boom"})
    result = vcli("describe", str(tmp_path / "missing.jpg"), photo(tmp_path))
    assert result.exit_code == 7
    assert "missing.jpg: no such file" in result.stderr
    assert "HTTP 500): boom" in result.stderr


def test_length_limit_warns_and_keeps_the_text_ollama(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    ollama.reply = lambda _request: FakeOllama.ok("A black laptop with a", done_reason="length")
    result = vcli("describe", photo(tmp_path), "-o", "jsonl")
    assert result.exit_code == 0
    assert records(result)["photo.jpg"]["description"] == "A black laptop with a"
    assert "warning:" in result.stderr and "token limit" in result.stderr


def test_length_limit_warns_and_keeps_the_text_openai(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    openai_server.reply = lambda _r: FakeOpenAI.ok("A grey monitor", finish_reason="length")
    cli = Cli({**base_env(tmp_path), **openai_env(openai_server)})
    result = cli("describe", photo(tmp_path), "-o", "jsonl")
    assert result.exit_code == 0
    assert records(result)["photo.jpg"]["description"] == "A grey monitor"
    assert "token limit" in result.stderr


def test_json_output_reports_the_failure_summary_as_json_on_stderr(
    vcli: Cli, tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.jpg")
    result = vcli("describe", missing, photo(tmp_path), "-o", "json")
    assert result.exit_code == 2
    first, summary = (json.loads(line)["error"] for line in result.stderr.splitlines())
    assert (first["code"], first["type"], first["file"]) == (2, "invalid_input", missing)
    assert first["message"] == f"{missing}: no such file"
    assert (summary["code"], summary["files"]) == (2, [missing])
    assert [row["error"] is None for row in result.json()] == [False, True]


# --- prompt and structured output ----------------------------------------------------------


def test_prompt_flag_replaces_the_default_prompt(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    result = vcli("describe", photo(tmp_path), "--prompt", "What colour is it?")
    assert result.exit_code == 0, result.stderr
    assert ollama.chat_requests()[0].body["messages"][0]["content"] == "What colour is it?"


def test_structured_answer_is_validated_and_returned(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    ollama.reply = lambda _request: FakeOllama.ok(json.dumps(STRUCTURED))
    result = vcli("describe", photo(tmp_path), "--structured", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    row = records(result)["photo.jpg"]
    assert row["details"] == STRUCTURED
    assert row["description"] == STRUCTURED["description"]
    schema = ollama.chat_requests()[0].body["format"]
    assert set(schema["required"]) == set(STRUCTURED)


def test_structured_answer_is_retried_once(vcli: Cli, ollama: FakeOllama, tmp_path: Path) -> None:
    answers = iter(['{"category": "laptop"}', json.dumps(STRUCTURED)])
    ollama.reply = lambda _request: FakeOllama.ok(next(answers))
    result = vcli("describe", photo(tmp_path), "--structured", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert records(result)["photo.jpg"]["details"] == STRUCTURED
    assert len(ollama.chat_requests()) == 2
    assert "warning" not in result.stderr


def test_structured_falls_back_to_text_with_a_warning_openai(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    bad = {**STRUCTURED, "condition": "like new-ish"}
    answers = iter([json.dumps(bad), "not json at all", "A plain description."])
    openai_server.reply = lambda _request: FakeOpenAI.ok(next(answers))
    cli = Cli({**base_env(tmp_path), **openai_env(openai_server)})
    result = cli("describe", photo(tmp_path), "--structured", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    row = records(result)["photo.jpg"]
    assert (row["description"], row["details"]) == ("A plain description.", None)
    assert "fell back to a plain-text description" in result.stderr
    bodies = [r.body for r in openai_server.chat_requests()]
    assert [("response_format" in b) for b in bodies] == [True, True, False]
    assert bodies[0]["response_format"]["json_schema"]["strict"] is True


# --- saving on assets -----------------------------------------------------------------------


def test_save_stores_the_description_with_its_source_and_history(
    cli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    cli.ok(*add_args("LAP-0042"))
    env = ollama_env(ollama)
    result = cli("describe", photo(tmp_path, "LAP-0042.jpg"), "--tag-from-filename", "--save",
                 "-o", "jsonl", env=env)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert records(result)["LAP-0042.jpg"]["asset"] == "LAP-0042"
    assert "Saved the description on asset LAP-0042." in result.stderr
    asset = cli.ok("asset", "show", "LAP-0042", "-o", "json").json()
    assert asset["description"] == DESCRIPTION
    assert asset["version"] == 2
    source = asset["description_source"]
    assert (source["provider"], source["model"]) == ("ollama", "smolvlm2")
    assert source["at"].endswith("Z")
    events = cli.ok("asset", "history", "LAP-0042", "-o", "json").json()
    assert events[-1]["action"] == "described"
    assert events[-1]["changes"]["description"] == {"old": None, "new": DESCRIPTION}
    assert events[-1]["changes"]["description_source"]["new"] == source


def test_save_with_an_unknown_asset_exits_3_before_any_provider_call(
    cli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    env = ollama_env(ollama)
    result = cli("describe", photo(tmp_path), "--asset", "LAP-9999", "--save", env=env)
    assert result.exit_code == 3
    assert "no asset with tag or id 'LAP-9999'" in result.stderr
    assert ollama.requests == []


def test_tag_from_filename_saves_known_assets_and_reports_unknown_ones(
    cli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    cli.ok(*add_args("MON-0001", category="monitor"))
    known, unknown = photo(tmp_path, "MON-0001.png", fmt="PNG"), photo(tmp_path, "MON-0404.jpg")
    result = cli("describe", known, unknown, "--tag-from-filename", "--save",
                 env=ollama_env(ollama))  # fmt: skip
    assert result.exit_code == 3
    assert f"error: {unknown}: no asset with tag or id 'MON-0404'" in result.stderr
    assert f"{known}\tMON-0001\t{DESCRIPTION}\t\n" in result.stdout
    assert len(ollama.chat_requests()) == 1
    assert cli.ok("asset", "show", "MON-0001", "-o", "json").json()["description"] == DESCRIPTION


def test_save_is_refused_without_a_session_before_any_provider_call(
    sqlite_cli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    sqlite_cli.ok(*add_args("LAP-0001"))
    env = {**ollama_env(ollama), "ASSETCTL_TOKEN": ""}
    result = sqlite_cli("describe", photo(tmp_path), "--asset", "LAP-0001", "--save", env=env)
    assert result.exit_code == 4, result.stderr
    assert ollama.requests == []


def test_a_viewer_cannot_save_and_no_model_time_is_spent(
    sqlite_cli: Cli, ollama: FakeOllama, tmp_path: Path
) -> None:
    from tests.auth_helpers import as_user, register, token_for

    sqlite_cli.ok(*add_args("LAP-0001"))
    register(sqlite_cli, "viewer@example.com", "viewer")
    viewer = as_user(sqlite_cli, token_for(sqlite_cli, "viewer@example.com"))
    result = viewer("describe", photo(tmp_path), "--asset", "LAP-0001", "--save",
                    env=ollama_env(ollama))  # fmt: skip
    assert result.exit_code == 5, result.stderr
    assert ollama.requests == []
    # Describing without saving only needs read access.
    assert viewer("describe", photo(tmp_path), "--asset", "LAP-0001",
                  env=ollama_env(ollama)).exit_code == 0  # fmt: skip


def test_photos_are_never_written_anywhere(vcli: Cli, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    photos = tmp_path / "photos"
    photos.mkdir()
    make_photo(photos / "LAP-1.jpg", size=(3000, 2000), orientation=6)
    before = {p: p.read_bytes() for p in photos.iterdir()}
    result = vcli.sub("describe", str(photos), env={"TMPDIR": str(scratch)})
    assert result.exit_code == 0, result.stderr
    assert list(scratch.iterdir()) == []
    assert {p: p.read_bytes() for p in photos.iterdir()} == before
    assert not (tmp_path / "data").exists()  # no database was created either


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--save"], "--save needs to know the asset"),
        (["--asset", "LAP-1", "--tag-from-filename"], "cannot be used together"),
        (["--prompt", " "], "--prompt is empty"),
    ],
)
def test_inconsistent_flags_exit_2(
    vcli: Cli, ollama: FakeOllama, tmp_path: Path, args: list[str], message: str
) -> None:
    result = vcli("describe", photo(tmp_path), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert ollama.requests == []


def test_asset_takes_exactly_one_photo(sqlite_cli: Cli, ollama: FakeOllama, tmp_path: Path) -> None:
    sqlite_cli.ok(*add_args("LAP-0001"))
    result = sqlite_cli("describe", photo(tmp_path, "a.jpg"), photo(tmp_path, "b.jpg"),
                        "--asset", "LAP-0001", "--save", env=ollama_env(ollama))  # fmt: skip
    assert result.exit_code == 2
    assert "--asset names one asset, but 2 photos were given" in result.stderr
    assert ollama.requests == []
    assert sqlite_cli.ok("asset", "show", "LAP-0001", "-o", "json").json()["version"] == 1


# --- checks, doctor, secrets ------------------------------------------------------------------


def test_check_reports_server_model_and_vision(vcli: Cli, ollama: FakeOllama) -> None:
    result = vcli("describe", "--check")
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok   provider") and "Ollama 0.12.6" in lines[0]
    assert lines[1].startswith("ok   model") and lines[2].startswith("ok   vision")
    assert [r.path for r in ollama.requests] == ["/api/version", "/api/show"]


def test_check_fails_for_a_missing_model_or_one_without_vision(
    vcli: Cli, ollama: FakeOllama
) -> None:
    result = vcli("describe", "--check", "--model", "llama3")
    assert result.exit_code == 7
    assert "FAIL model" in result.stdout and "ollama pull llama3" in result.stdout
    ollama.capabilities = ("completion",)
    result = vcli("describe", "--check")
    assert result.exit_code == 7
    assert "FAIL vision" in result.stdout and "does not accept images" in result.stdout


def test_check_against_an_openai_compatible_server(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    cli = Cli({**base_env(tmp_path), **openai_env(openai_server)})
    result = cli("describe", "--check")
    assert result.exit_code == 0, result.stdout
    assert "ok   model     smolvlm2 is available" in result.stdout
    result = cli("describe", "--check", "--model", "gpt-9")
    assert result.exit_code == 7
    assert "does not offer model 'gpt-9' (offered: smolvlm2)" in result.stdout


def test_doctor_skips_the_vision_model_unless_one_is_configured(
    sqlite_cli: Cli, ollama: FakeOllama
) -> None:
    result = sqlite_cli("doctor")
    assert result.exit_code == 0, result.stdout
    assert "skip vlm" in result.stdout
    result = sqlite_cli("doctor", env=ollama_env(ollama))
    assert result.exit_code == 0, result.stdout
    assert "ok   vlm vision" in result.stdout
    result = sqlite_cli("doctor", env={"ASSETCTL_VLM_PROVIDER": "llamacpp",
                                       "ASSETCTL_VLM_BASE_URL": refused_url()})  # fmt: skip
    assert result.exit_code == 7
    assert "FAIL vlm provider" in result.stdout and "connection refused" in result.stdout


def test_config_show_masks_the_api_key(tmp_path: Path) -> None:
    cli = Cli({**base_env(tmp_path), "ASSETCTL_VLM_API_KEY": API_KEY})
    result = cli("config", "show", "-o", "json")
    assert result.exit_code == 0
    rows = {row["key"]: row for row in result.json()}
    assert rows["vlm_api_key"]["value"] == "***"
    assert rows["vlm_timeout"]["value"] == "300.0"
    assert API_KEY not in result.stdout + result.stderr


def test_table_for_people_shows_only_the_columns_that_have_something(
    vcli: Cli, tmp_path: Path
) -> None:
    result = vcli("describe", photo(tmp_path), "-o", "table")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0]
    assert "FILE" in header and "DESCRIPTION" in header
    assert "ASSET" not in header and "ERROR" not in header
    result = vcli("describe", photo(tmp_path), str(tmp_path / "gone.jpg"), "-o", "table")
    assert result.exit_code == 2
    assert "ERROR" in result.stdout.splitlines()[0]
