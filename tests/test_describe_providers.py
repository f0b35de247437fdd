"""Providers, settings and pure helpers of `describe`; golden requests against the official
`ollama` and `openai` Python clients sent to the same strict fake servers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from assetctl.config import load_settings
from assetctl.core.describe.images import normalise, sniff
from assetctl.core.describe.prompt import SCHEMA, validate_structured
from assetctl.core.describe.service import FileResult, collect_targets, exit_status
from assetctl.errors import InvalidInputError, ServiceUnavailableError
from assetctl.providers.base import ProviderConfig, VisionRequest, server_message
from assetctl.providers.ollama import KEEP_ALIVE, OllamaProvider
from assetctl.providers.openai_compat import OpenAICompatProvider
from tests.vlm_fakes import API_KEY, DESCRIPTION, STRUCTURED, FakeOllama, FakeOpenAI, make_photo

PROMPT = "Describe the device."


@pytest.fixture
def jpeg(tmp_path: Path) -> bytes:
    return make_photo(tmp_path / "p.jpg", size=(64, 48)).read_bytes()


def _config(kind: str, url: str, key: str = "") -> ProviderConfig:
    return ProviderConfig(kind, kind, url, "smolvlm2", api_key=key, timeout=10)


# --- golden: field for field against the official clients -----------------------------------


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["text", "structured"])
def test_ollama_request_matches_the_official_client(
    ollama: FakeOllama, jpeg: bytes, schema: dict[str, Any] | None
) -> None:
    import ollama as ollama_lib

    client = ollama_lib.Client(host=ollama.url)
    answer = client.chat(
        model="smolvlm2",
        messages=[{"role": "user", "content": PROMPT, "images": [jpeg]}],
        stream=False,
        options={"temperature": 0.1, "num_predict": 512},
        keep_alive=KEEP_ALIVE,
        format=schema,
    )
    assert answer.message.content == DESCRIPTION  # the fake's reply is what the client expects
    provider = OllamaProvider(_config("ollama", ollama.url))
    reply = provider.describe(VisionRequest(PROMPT, jpeg, schema, 512, 0.1))
    assert (reply.text, reply.model, reply.truncated) == (DESCRIPTION, "smolvlm2", False)

    theirs, ours = ollama.chat_requests()
    # The client also sends an empty tool list; everything else must be identical,
    # including the bare base64 of the same JPEG bytes.
    expected = {k: v for k, v in theirs.body.items() if v != []}
    assert ours.body == expected
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ours.path == theirs.path == "/api/chat"


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["text", "structured"])
def test_openai_request_matches_the_official_client(
    openai_server: FakeOpenAI, jpeg: bytes, schema: dict[str, Any] | None
) -> None:
    import openai

    provider = OpenAICompatProvider(_config("openai", openai_server.url + "/v1", API_KEY))
    request = VisionRequest(PROMPT, jpeg, schema, 512, 0.1)
    expected_body = provider.chat_body(request)
    client = openai.OpenAI(base_url=openai_server.url + "/v1", api_key=API_KEY, max_retries=0)
    extra: dict[str, Any] = {}
    if schema is not None:
        extra["response_format"] = expected_body["response_format"]
    completion = client.chat.completions.create(
        model="smolvlm2",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": PROMPT},
                    {"type": "image_url", "image_url": {"url": _data_uri(jpeg)}},
                ],
            }
        ],
        max_tokens=512,
        temperature=0.1,
        **extra,
    )
    assert completion.choices[0].message.content == DESCRIPTION
    reply = provider.describe(request)
    assert reply.text == DESCRIPTION

    theirs, ours = openai_server.chat_requests()
    assert ours.body == theirs.body
    assert ours.headers["authorization"] == theirs.headers["authorization"]
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ours.path == theirs.path == "/v1/chat/completions"


def _data_uri(jpeg: bytes) -> str:
    import base64

    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def test_the_fakes_error_shapes_are_what_the_official_clients_understand(
    ollama: FakeOllama, openai_server: FakeOpenAI
) -> None:
    import ollama as ollama_lib
    import openai

    with pytest.raises(ollama_lib.ResponseError) as ollama_error:
        ollama_lib.Client(host=ollama.url).chat(model="nope", messages=[], stream=False)
    assert ollama_error.value.status_code in (400, 404)
    with pytest.raises(openai.NotFoundError) as openai_error:
        openai.OpenAI(
            base_url=openai_server.url + "/v1", api_key=API_KEY, max_retries=0
        ).chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "hi"}], max_tokens=5,
            temperature=0,
        )  # fmt: skip
    assert "does not exist" in openai_error.value.message


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b["messages"][0].update(
            images=["data:image/jpeg;base64," + b["messages"][0]["images"][0]]
        ),
        lambda b: b.update(stream=True),
        lambda b: b["messages"][0].update(images=["not base64!"]),
        lambda b: b.update(temperature=0.1),
    ],
    ids=["data-uri-prefix", "streaming", "bad-base64", "unknown-field"],
)
def test_fake_ollama_rejects_what_ollama_rejects(
    ollama: FakeOllama, jpeg: bytes, mutate: Any
) -> None:
    import httpx

    body = OllamaProvider(_config("ollama", ollama.url)).chat_body(VisionRequest(PROMPT, jpeg))
    mutate(body)
    response = httpx.post(ollama.url + "/api/chat", json=body)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("temperature"),
        lambda b: b.pop("max_tokens"),
        lambda b: b["messages"][0]["content"][1].update(image_url="data:image/jpeg;base64,AA"),
        lambda b: b["messages"][0]["content"][1]["image_url"].update(url="aGVsbG8="),
        lambda b: b["messages"][0]["content"][0].update(type="input_text"),
    ],
    ids=["no-temperature", "no-max-tokens", "url-not-object", "no-data-uri", "bad-part-type"],
)
def test_fake_openai_rejects_malformed_requests(
    openai_server: FakeOpenAI, jpeg: bytes, mutate: Any
) -> None:
    import httpx

    provider = OpenAICompatProvider(_config("openai", openai_server.url + "/v1", API_KEY))
    body = provider.chat_body(VisionRequest(PROMPT, jpeg))
    mutate(body)
    response = httpx.post(
        openai_server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 400
    assert isinstance(response.json()["error"]["message"], str)


def test_provider_errors_never_contain_the_api_key(openai_server: FakeOpenAI, jpeg: bytes) -> None:
    secret = "sk-should-never-appear"
    provider = OpenAICompatProvider(_config("openai", openai_server.url + "/v1", secret))
    assert secret not in repr(provider.config)
    with pytest.raises(ServiceUnavailableError) as error:
        provider.describe(VisionRequest(PROMPT, jpeg))
    assert secret not in f"{error.value.message} {error.value.hint}"


def test_a_password_in_the_base_url_is_masked_in_messages() -> None:
    config = _config("ollama", "http://user:hunter2@127.0.0.1:9")
    provider = OllamaProvider(config)
    try:
        with pytest.raises(ServiceUnavailableError) as error:
            provider.describe(VisionRequest(PROMPT, b"\xff\xd8\xff"))
    finally:
        provider.close()
    assert "hunter2" not in error.value.message
    assert "user:***@127.0.0.1:9" in error.value.message


# --- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"error": "model \\"x\\" not found, try pulling it first"}', 'model "x" not found'),
        ('{"error": {"message": "The model `x` does not exist", "type": "e"}}', "The model `x`"),
        ('"Model unloaded."', "Model unloaded."),
        ('{"detail": "Not Found"}', "Not Found"),
        ("upstream connect error", "upstream connect error"),
        ("", ""),
    ],
)
def test_server_message_understands_every_documented_error_shape(body: str, message: str) -> None:
    assert server_message(body).startswith(message)


def test_structured_validation() -> None:
    assert validate_structured(json.dumps(STRUCTURED)) == (STRUCTURED, "")
    fenced = "```json\n" + json.dumps(STRUCTURED) + "\n```"
    assert validate_structured(fenced)[0] == STRUCTURED
    assert validate_structured("[]")[1] == "not a JSON object"
    assert validate_structured("{")[1] == "not valid JSON"
    missing = {k: v for k, v in STRUCTURED.items() if k != "brand"}
    assert validate_structured(json.dumps(missing))[1] == "missing brand"
    assert "unexpected price" in validate_structured(json.dumps({**STRUCTURED, "price": "1"}))[1]
    wrong = {**STRUCTURED, "visible_identifiers": "LAP-1"}
    assert (
        validate_structured(json.dumps(wrong))[1] == "visible_identifiers is not a list of strings"
    )
    assert "condition" in validate_structured(json.dumps({**STRUCTURED, "condition": "meh"}))[1]


def test_sniff_uses_the_content() -> None:
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff(b"\x00\x00\x00\x1cftypavif") == "avif"
    assert sniff(b"hello") is None


def test_normalise_strips_metadata(tmp_path: Path) -> None:
    from PIL import Image

    source = make_photo(tmp_path / "gps.jpg", orientation=3)
    prepared = normalise(source.read_bytes(), name="gps.jpg", max_edge=320)
    with Image.open(io.BytesIO(prepared.jpeg)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        assert image.size == (320, 240)
        assert not image.getexif()


def test_collect_targets_skips_hidden_and_non_image_files(tmp_path: Path) -> None:
    make_photo(tmp_path / "b.JPG")
    make_photo(tmp_path / ".hidden.jpg")
    (tmp_path / "notes.md").write_text("x")
    make_photo(tmp_path / "a.png", "PNG")
    targets = collect_targets([str(tmp_path)], tag_from_filename=True)
    assert [(Path(t.file).name, t.asset) for t in targets] == [("a.png", "a"), ("b.JPG", "b")]


def test_exit_status_is_the_most_severe_failure() -> None:
    def result(code: int) -> FileResult:
        return FileResult("f", None, "ollama", error=None if code == 0 else "x", exit_status=code)

    assert exit_status([result(0), result(0)]) == 0
    assert exit_status([result(2), result(3), result(0)]) == 3
    assert exit_status([result(2), result(7), result(3)]) == 7


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("IMAGE_MAX_BYTES", "25MiB", 25 * 1024 * 1024),
        ("IMAGE_MAX_BYTES", "25MB", 25_000_000),
        ("IMAGE_MAX_BYTES", "4096", 4096),
        ("VLM_TIMEOUT", "12.5", 12.5),
        ("VLM_PROVIDER", "LMStudio", "lmstudio"),
        ("VLM_BASE_URL", "http://gpu-box:8000/v1/", "http://gpu-box:8000/v1"),
    ],
)
def test_settings_parse(tmp_path: Path, key: str, raw: str, value: object) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), f"ASSETCTL_{key}": raw}
    assert load_settings(env).values[key.lower()] == value


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("IMAGE_MAX_BYTES", "lots"),
        ("IMAGE_MAX_BYTES", "0"),
        ("VLM_TIMEOUT", "-1"),
        ("VLM_API_KEY", "sk has spaces"),
        ("DESCRIBE_CONCURRENCY", "0"),
        ("VLM_BASE_URL", "http://h/v1?x=1"),
    ],
)
def test_settings_reject(tmp_path: Path, key: str, raw: str) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), f"ASSETCTL_{key}": raw}
    with pytest.raises(InvalidInputError) as error:
        load_settings(env)
    assert key.lower() in error.value.message
    if key == "VLM_API_KEY":
        assert raw not in error.value.message


def test_config_file_settings_are_used(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('vlm_provider = "vllm"\nvlm_model = "HuggingFaceTB/SmolVLM2-2.2B-Instruct"\n')
    settings = load_settings({"ASSETCTL_CONFIG": str(path)})
    from assetctl.core.describe.service import provider_config, vlm_configured

    config = provider_config(settings)
    assert (config.kind, config.base_url) == ("openai", "http://127.0.0.1:8000/v1")
    assert config.model == "HuggingFaceTB/SmolVLM2-2.2B-Instruct"
    assert vlm_configured(settings)
    assert not vlm_configured(load_settings({"XDG_CONFIG_HOME": str(tmp_path / "none")}))
