"""The registries of issue 12, item 6: output writers and vision-model providers.

The expected outputs below were produced by the renderer as it was before the writer registry
(commit 6a9a22d): every format must keep printing a record exactly as it did, except that
since issue 18 formats for people show control, bidi and other invisible characters as
escapes (`\\x1b`, `\\u202e`) and JSON writes them as `\\uXXXX` escapes.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import assetctl.cli.table  # noqa: F401 - registers the table writer
from assetctl.errors import InvalidInputError
from assetctl.providers.base import ProviderConfig
from assetctl.providers.presets import PRESETS, Preset
from assetctl.providers.registry import PROVIDERS, make_provider
from assetctl.writers import View, formats, make_writer, registered

from .conftest import Cli, base_env
from .vlm_fakes import FakeOllama, make_photo

RECORD = {
    "tag": "LAP-1",
    "name": "red\x1b[31m\x07 tab\there\r\nnew \u202eevil \\ [b]x[/] zoë ☃",
    "status": "assigned",
    "bought": date(2024, 2, 29),
    "cost": Decimal("1299.50"),
    "zero": Decimal("0.00"),
    "at": datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
    "local": datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1))),
    "source": {"model": "llava", "at": datetime(2026, 1, 2, tzinfo=UTC), "note": "é\u202e"},
    "none": None,
    "ok": True,
    "n": 42,
}
FIELDS = tuple(RECORD)
COLUMNS = ("tag", "name", "status", "cost", "source")

JSONL_ROW = (
    '{"tag": "LAP-1", "name": "red\\u001b[31m\\u0007 tab\\there\\r\\nn'
    'ew \\u202eevil \\\\ [b]x[/] zoë ☃", "status": "assigned", "boug'
    'ht": "2024-02-29", "cost": 1299.5, "zero": 0.0, "at": "2026-'
    '01-02T03:04:05.120000Z", "local": "2026-01-02T03:04:05Z", "s'
    'ource": {"model": "llava", "at": "2026-01-02T00:00:00Z", "no'
    'te": "é\\u202e"}, "none": null, "ok": true, "n": 42}\n'
)
# Per format: (a list of one RECORD, RECORD shown on its own as `show` does).
EXPECTED: dict[str, tuple[str, str]] = {
    "table": (
        (
            "TAG    NAME                                 STATUS    COST  "
            "   SOURCE                               \n"
            "LAP-1  red\\x1b[31m\\x07 tab\\there\\r\\nnew     assigned  1299.5"
            '0  {"model": "llava", "at":             \n'
            "       \\u202eevil \\ [b]x[/] zoë ☃                           "
            '   "2026-01-02T00:00:00Z", "note":      \n'
            "                                                            "
            '   "é\\u202e"}                           \n'
        ),
        (
            "tag     LAP-1                                               "
            "               \n"
            "name    red\\x1b[31m\\x07 tab\\there\\r\\nnew \\u202eevil \\ [b]x[/"
            "] zoë ☃        \n"
            "status  assigned                                            "
            "               \n"
            "bought  2024-02-29                                          "
            "               \n"
            "cost    1299.50                                             "
            "               \n"
            "zero    0.00                                                "
            "               \n"
            "at      2026-01-02T03:04:05.120000Z                         "
            "               \n"
            "local   2026-01-02T03:04:05Z                                "
            "               \n"
            'source  {"model": "llava", "at": "2026-01-02T00:00:00Z", "no'
            'te": "é\\u202e"}\n'
            "none                                                        "
            "               \n"
            "ok      True                                                "
            "               \n"
            "n       42                                                  "
            "               \n"
        ),
    ),
    "plain": (
        (
            "LAP-1\tred\\x1b[31m\\x07 tab\\there\\r\\nnew \\u202eevil \\\\ [b]x[/]"
            ' zoë ☃\tassigned\t1299.50\t{"model": "llava", "at": "2026-01-02'
            'T00:00:00Z", "note": "é\\u202e"}\n'
        ),
        (
            "tag\tLAP-1\n"
            "name\tred\\x1b[31m\\x07 tab\\there\\r\\nnew \\u202eevil \\\\ [b]x[/] "
            "zoë ☃\n"
            "status\tassigned\n"
            "bought\t2024-02-29\n"
            "cost\t1299.50\n"
            "zero\t0.00\n"
            "at\t2026-01-02T03:04:05.120000Z\n"
            "local\t2026-01-02T03:04:05Z\n"
            'source\t{"model": "llava", "at": "2026-01-02T00:00:00Z", "not'
            'e": "é\\u202e"}\n'
            "none\t\n"
            "ok\tTrue\n"
            "n\t42\n"
        ),
    ),
    "json": (
        (
            "[\n"
            '  {"tag": "LAP-1", "name": "red\\u001b[31m\\u0007 tab\\there\\r\\'
            'nnew \\u202eevil \\\\ [b]x[/] zoë ☃", "status": "assigned", "bo'
            'ught": "2024-02-29", "cost": 1299.5, "zero": 0.0, "at": "202'
            '6-01-02T03:04:05.120000Z", "local": "2026-01-02T03:04:05Z", '
            '"source": {"model": "llava", "at": "2026-01-02T00:00:00Z", "'
            'note": "é\\u202e"}, "none": null, "ok": true, "n": 42}\n'
            "]\n"
        ),
        (
            "{\n"
            '  "tag": "LAP-1",\n'
            '  "name": "red\\u001b[31m\\u0007 tab\\there\\r\\nnew \\u202eevil \\'
            '\\ [b]x[/] zoë ☃",\n'
            '  "status": "assigned",\n'
            '  "bought": "2024-02-29",\n'
            '  "cost": 1299.5,\n'
            '  "zero": 0.0,\n'
            '  "at": "2026-01-02T03:04:05.120000Z",\n'
            '  "local": "2026-01-02T03:04:05Z",\n'
            '  "source": {\n'
            '    "model": "llava",\n'
            '    "at": "2026-01-02T00:00:00Z",\n'
            '    "note": "é\\u202e"\n'
            "  },\n"
            '  "none": null,\n'
            '  "ok": true,\n'
            '  "n": 42\n'
            "}\n"
        ),
    ),
    "jsonl": (JSONL_ROW, JSONL_ROW),  # one line either way
    "csv": (
        (
            "tag,name,status,bought,cost,zero,at,local,source,none,ok,n\n"
            'LAP-1,"red\x1b[31m\x07 tab\there\r\n'
            'new \u202eevil \\ [b]x[/] zoë ☃",assigned,2024-02-29,1299.50,0.00,2026-01-'
            '02T03:04:05.120000Z,2026-01-02T03:04:05Z,"{""model"": ""llava"", ""at"": "'
            '"2026-01-02T00:00:00Z"", ""note"": ""é\u202e""}",,True,42\n'
        ),
        (
            "tag,name,status,bought,cost,zero,at,local,source,none,ok,n\n"
            'LAP-1,"red\x1b[31m\x07 tab\there\r\n'
            'new \u202eevil \\ [b]x[/] zoë ☃",assigned,2024-02-29,1299.50,0.00,2026-01-'
            '02T03:04:05.120000Z,2026-01-02T03:04:05Z,"{""model"": ""llava"", ""at"": "'
            '"2026-01-02T00:00:00Z"", ""note"": ""é\u202e""}",,True,42\n'
        ),
    ),
    "tsv": (
        (
            "tag\tname\tstatus\tbought\tcost\tzero\tat\tlocal\tsource\tnone\tok\tn\n"
            "LAP-1\tred\\x1b[31m\\x07 tab\\there\\r\\nnew \\u202eevil \\\\ [b]x[/]"
            " zoë ☃\tassigned\t2024-02-29\t1299.50\t0.00\t2026-01-02T03:04:05."
            '120000Z\t2026-01-02T03:04:05Z\t{"model": "llava", "at": "2026-'
            '01-02T00:00:00Z", "note": "é\\u202e"}\t\tTrue\t42\n'
        ),
        (
            "tag\tname\tstatus\tbought\tcost\tzero\tat\tlocal\tsource\tnone\tok\tn\n"
            "LAP-1\tred\\x1b[31m\\x07 tab\\there\\r\\nnew \\u202eevil \\\\ [b]x[/]"
            " zoë ☃\tassigned\t2024-02-29\t1299.50\t0.00\t2026-01-02T03:04:05."
            '120000Z\t2026-01-02T03:04:05Z\t{"model": "llava", "at": "2026-'
            '01-02T00:00:00Z", "note": "é\\u202e"}\t\tTrue\t42\n'
        ),
    ),
}


def _written(fmt: str, view: View, *, one: bool = False) -> str:
    out = io.StringIO()
    writer = make_writer(fmt, out, view)
    if one:
        writer.record(RECORD)
    else:
        assert writer.write([RECORD]) == 1
    return out.getvalue()


@pytest.fixture(autouse=True)
def _fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # Rich tables wrap to the terminal width


def test_every_registered_writer_has_its_output_pinned_here() -> None:
    assert set(registered()) == set(EXPECTED)
    assert formats() == ["table", "json", "jsonl", "csv", "tsv"]  # `-o` choices, in order


@pytest.mark.parametrize("fmt", sorted(EXPECTED))
def test_every_writer_prints_dates_money_and_control_characters_as_before(fmt: str) -> None:
    listing, alone = EXPECTED[fmt]
    assert _written(fmt, View(FIELDS, COLUMNS)) == listing
    assert _written(fmt, View(FIELDS, COLUMNS), one=True) == alone


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("table", ""),
        ("plain", ""),
        ("json", '{"items": [], "next_cursor": null}\n'),
        ("jsonl", ""),
        ("csv", ",".join(FIELDS) + "\n"),
        ("tsv", "\t".join(FIELDS) + "\n"),
    ],
)
def test_an_empty_listing(fmt: str, expected: str) -> None:
    out = io.StringIO()
    assert make_writer(fmt, out, View(FIELDS, extra={"next_cursor": None})).write([]) == 0
    assert out.getvalue() == expected


def test_json_extra_keys_follow_the_items() -> None:
    out = io.StringIO()
    make_writer("json", out, View(("tag", "cost"), extra={"next_cursor": "c1"})).write(
        [RECORD, RECORD]
    )
    assert out.getvalue() == (
        '{"items": [\n  {"tag": "LAP-1", "cost": 1299.5},\n  {"tag": "LAP-1", "cost": 1299.5}\n'
        '], "next_cursor": "c1"}\n'
    )


def test_csv_cells_can_be_rewritten_per_field() -> None:
    """The exporter's --safe-csv hook: each (field, text) cell passes through `cell`."""
    view = View(("tag", "cost"), cell=lambda field, text: f"{field}={text}")
    assert _written("csv", view) == "tag,cost\ntag=LAP-1,cost=1299.50\n"


def test_an_unknown_format_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError) as error:
        make_writer("xml", io.StringIO(), View(FIELDS))
    assert error.value.message == "output format 'xml' is not supported"
    assert error.value.hint == "use one of table, json, jsonl, csv, tsv"


TOY_PROBE = """\
import sys

from assetctl.writers import Writer, register


@register
class Shouting(Writer):
    name = "shout"

    def row(self, record):
        self.out.write(" ".join(str(record[c]).upper() for c in self.columns) + "\\n")


from assetctl.cli.main import run

sys.exit(run(sys.argv[1:]))
"""


def test_a_new_format_is_one_registered_class(tmp_path: Path) -> None:
    """A writer registered before the CLI starts is offered by `-o` and used by every
    command that prints records."""
    env = base_env(tmp_path)

    def probe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", TOY_PROBE, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    shown = probe("config", "show", "-o", "shout")
    assert shown.returncode == 0, shown.stderr
    assert "LIST_LIMIT 50 DEFAULT ASSETCTL_LIST_LIMIT\n" in shown.stdout
    helped = probe("config", "show", "--help")
    assert "<table|json|jsonl|csv|tsv|shout>" in helped.stdout
    assert "table, json, jsonl, csv, tsv or shout." in helped.stdout


# --- providers ---------------------------------------------------------------------------


def _config(kind: str) -> ProviderConfig:
    return ProviderConfig(preset="toy", kind=kind, base_url="http://127.0.0.1:9", model="m")


def test_every_preset_speaks_a_registered_kind() -> None:
    assert {preset.kind for preset in PRESETS.values()} <= set(PROVIDERS)
    for kind in PROVIDERS:
        provider = make_provider(_config(kind))
        provider.close()


def test_an_unknown_provider_kind_is_an_error_naming_the_known_kinds() -> None:
    with pytest.raises(InvalidInputError) as error:
        make_provider(_config("carrier-pigeon"))
    assert int(error.value.exit_status) == 2
    assert error.value.message == "unknown vision-model provider kind 'carrier-pigeon'"
    assert error.value.hint == "known kinds: ollama, openai, ocr"


@pytest.mark.parametrize("check", [False, True])
def test_describe_with_a_preset_of_unknown_kind_exits_2_before_any_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ollama: FakeOllama, check: bool
) -> None:
    """Once any kind but `ollama` silently became OpenAI; now it is refused."""
    preset = Preset("pigeon", "carrier-pigeon", ollama.url, "a bird")
    monkeypatch.setitem(PRESETS, preset.name, preset)
    photo = str(make_photo(tmp_path / "photo.jpg", "JPEG"))
    cli = Cli(base_env(tmp_path))
    args = ["--check"] if check else [photo]
    result = cli("describe", *args, "--provider", "pigeon")
    assert result.exit_code == 2, result
    assert result.stderr == (
        "error: unknown vision-model provider kind 'carrier-pigeon'\n"
        "hint: known kinds: ollama, openai, ocr\n"
    )
    assert ollama.requests == []


def test_presets_are_a_leaf_and_settings_never_import_providers() -> None:
    code = (
        "import json, sys\n"
        "import assetctl.providers.presets, assetctl.config_values, assetctl.config_specs\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('assetctl'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(proc.stdout)
    assert [m for m in loaded if m.startswith("assetctl.providers")] == [
        "assetctl.providers",
        "assetctl.providers.presets",
    ]
