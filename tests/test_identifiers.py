"""The label rules that sort text read off a photo into serials, tags, models and brands
(core/describe/identifiers.py): what is proposed, and that nothing is ever made up."""

from __future__ import annotations

import re

import pytest

from assetctl.core.describe.identifiers import classify, identifier_like, text_details


@pytest.mark.parametrize(
    ("line", "serial"),
    [
        ("S/N: PF4XK2Z9QW", "PF4XK2Z9QW"),
        ("S/N:PF4XK2Z9QW", "PF4XK2Z9QW"),  # as OCR often reads it, the space gone
        ("s / n PF4XK2Z9QW", "PF4XK2Z9QW"),
        ("SN\uff1aPF4XK2Z9QW", "PF4XK2Z9QW"),  # full-width colon (U+FF1A) from the OCR model
        ("SN PF4XK2Z9QW", "PF4XK2Z9QW"),
        ("Serial: 5CG1234XYZ", "5CG1234XYZ"),
        ("Serial No. 5CG1234XYZ", "5CG1234XYZ"),
        ("SERIAL NUMBER # 5CG1234XYZ", "5CG1234XYZ"),
        ("Ser. No.: 00123456789", "00123456789"),
    ],
)
def test_a_labelled_serial_is_the_token_after_its_label(line: str, serial: str) -> None:
    found = classify([line])
    assert found.serials == [serial]
    assert found.tags == [] and found.models == []
    assert serial in found.visible


def test_a_label_alone_on_its_line_takes_the_next_line() -> None:
    found = classify(["Serial Number", "ABC123456", "Asset Tag:", "IT-00917"])
    assert found.serials == ["ABC123456"]
    assert found.tags == ["IT-00917"]


def test_tags_models_and_brands_from_their_labels() -> None:
    found = classify(
        [
            "Asset: LAP-0042",
            "Inventory No. INV-77812",
            "Model: ThinkPad T14 Gen 2",
            "Type 20W0-00AXGE",
            "Manufacturer: Lenovo Group",
        ]
    )
    assert found.tags == ["LAP-0042", "INV-77812"]
    assert found.models == ["ThinkPad T14 Gen 2", "20W0-00AXGE"]
    assert found.brands == ["Lenovo"]


def test_the_configured_tag_pattern_finds_a_bare_tag() -> None:
    lines = ["LAP-0042", "ACME Corp IT", "S/N: PF4XK2Z9QW"]
    assert classify(lines).tags == []  # no label, no pattern: not claimed to be a tag
    found = classify(lines, re.compile(r"LAP-[0-9]{4}"))
    assert found.tags == ["LAP-0042"]
    assert found.serials == ["PF4XK2Z9QW"]
    # The pattern must match the whole token: part of a serial is not a tag.
    assert classify(["S/N: XLAP-00421"], re.compile(r"LAP-[0-9]{4}")).tags == []
    # A labelled serial that matches the pattern stays a serial; a labelled tag comes first.
    both = classify(["S/N: LAP-0001", "LAP-0002", "Asset: LAP-0003"], re.compile(r"LAP-\d{4}"))
    assert both.serials == ["LAP-0001"]
    assert both.tags == ["LAP-0003", "LAP-0002"]


@pytest.mark.parametrize(
    "line",
    [
        "Snapshot 1234567",  # "SN" inside a word is no label
        "Tagged for repair",
        "Typewriter",
        "Serial: T14",  # too short to be a serial
        "S/N: unknown",  # no digit
        "S/N: 2024-03-01",  # a date
        "Model:",  # a label with nothing after it, and no next line
    ],
)
def test_no_serial_tag_or_model_is_invented(line: str) -> None:
    found = classify([line])
    assert found.serials == [] and found.tags == []
    if line != "Typewriter":
        assert found.models == []


def test_words_years_prices_and_dates_are_not_identifiers() -> None:
    found = classify(["ThinkPad T14", "Made in 2024", "Price 1299.00", "2026-03-02", "220V"])
    assert found.visible == []
    assert [t for t in ("LAP-0042", "5CG1234XYZ", "00123456789") if identifier_like(t)] == [
        "LAP-0042",
        "5CG1234XYZ",
        "00123456789",
    ]


def test_no_text_gives_empty_fields_and_unknowns() -> None:
    details = text_details([])
    assert details["visible_identifiers"] == []
    assert details["description"] == ""
    assert {details[k] for k in ("category", "brand", "model", "color", "condition")} == {"unknown"}


def test_text_details_has_exactly_the_structured_schema_keys() -> None:
    from assetctl.core.describe.prompt import SCHEMA, validate_structured

    details = text_details(["Brand: ACME", "Model: X1 Carbon", "S/N: PF4XK2Z9QW"])
    assert set(details) == set(SCHEMA["properties"])
    assert (details["brand"], details["model"]) == ("ACME", "X1 Carbon")
    assert details["visible_identifiers"] == ["PF4XK2Z9QW"]
    # The same shape a vision model's answer must have.
    import json

    assert validate_structured(json.dumps(details)) == (details, "")
