"""Which of the text read off a label are serials, asset tags, model numbers and brands.

Pure string work on the lines an OCR model (or a vision model's `visible_identifiers`) gives,
with rules an administrator can predict. Nothing is ever made up: every value returned is a
token that was read, unchanged (no O/0 "corrections"), and a photo without such tokens gives
empty lists.

The rules, in order:
1. A line is normalised (Unicode NFKC: the full-width colon U+FF1A becomes `:`) and split at a known
   label: `S/N`, `SN`, `Serial`, `Serial No.`, `Serial Number`, `Ser. No.` -> serial;
   `Asset`, `Asset Tag`, `Asset No.`, `Tag`, `Inventory No.`, `Inv. No.` -> tag; `Model`,
   `Model No.`, `M/N`, `MTM` -> model; `Type` -> model (only an identifier-like value);
   `Manufacturer`, `Brand`, `Mfr` -> brand. The value is what follows the label (`:`, `#`,
   `.` and `-` between them are skipped): its first token for a serial or tag (which must
   be identifier-like), the rest of the line for a model (`Model: ThinkPad T14`), its first
   word for a brand. A label alone on its line takes its value from the next line (OCR often
   reads label and value as two boxes).
2. Any identifier-like token (below) that matches the configured tag pattern in full is a
   tag, unless a label made it a serial or model. Labelled tags come first.
3. Every identifier-like token of the text is a visible identifier: 4 to 64 characters of
   letters, digits and `-./_`, at least one digit, and either a letter or 6+ characters (so
   `T14` and years are not), and not shaped like a date, a price or a rating (`1299.00`,
   `220V`, `65W`, `16GB`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Longest labels first, so "Serial Number" wins over "Serial" and "Asset Tag" over "Asset".
_LABELS: tuple[tuple[str, str], ...] = (
    (r"serial\s*(?:number|num|no)\.?", "serial"),
    (r"ser\.?\s*no\.?", "serial"),
    (r"s\s*/\s*n", "serial"),
    (r"serial", "serial"),
    (r"sn", "serial"),
    (r"asset\s*(?:tag|no|number|id)\.?", "tag"),
    (r"inv(?:entory|\.)?\s*(?:no|number)\.?", "tag"),
    (r"asset", "tag"),
    (r"tag", "tag"),
    (r"model\s*(?:number|no)\.?", "model"),
    (r"m\s*/\s*n", "model"),
    (r"mtm", "model"),
    (r"model", "model"),
    (r"type", "model_number"),
    (r"manufacturer", "brand"),
    (r"brand", "brand"),
    (r"mfr\.?", "brand"),
)
# A label at the start of a line, then separators; the label must end at a non-letter so
# "Snapshot" is not "SN" + "apshot" and "Tagged" is not "Tag".
_LABEL_RE = re.compile(
    r"^\s*(?:" + "|".join(f"(?P<l{i}>{p})" for i, (p, _) in enumerate(_LABELS)) + r")"
    r"(?![a-z])\s*[:#.\-]*\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-./_]*[A-Za-z0-9]|[A-Za-z0-9]")
_DATE_RE = re.compile(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}$")
# A price or a rating printed on the label: 1299.00, 220V, 65W, 3.25A, 16GB, 50/60Hz.
_QUANTITY_RE = re.compile(
    r"^\d+(?:[.,/]\d+)*(?:v|w|a|ma|mah|wh|hz|khz|mhz|ghz|gb|tb|mb|kg|g|mm|cm|in)?$", re.IGNORECASE
)
MIN_LEN, MAX_LEN = 4, 64


@dataclass
class Identifiers:
    """What one photo's text gives, each list in reading order without repeats."""

    serials: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    visible: list[str] = field(default_factory=list)

    def add(self, kind: str, value: str) -> None:
        target = {
            "serial": self.serials,
            "tag": self.tags,
            "model": self.models,
            "brand": self.brands,
        }[kind]
        if value not in target:
            target.append(value)


def identifier_like(token: str) -> bool:
    """Could `token` be a serial, tag or model number (rule 3 of the module docstring)?"""
    if not MIN_LEN <= len(token) <= MAX_LEN or _TOKEN_RE.fullmatch(token) is None:
        return False
    if not any(c.isdigit() for c in token) or _DATE_RE.match(token):
        return False
    if _QUANTITY_RE.match(token) and not token.isdigit():
        return False
    return any(c.isalpha() for c in token) or len(token) >= 6


def _normalise(line: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", line).split())


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def _label(line: str) -> tuple[str, str] | None:
    """(kind, rest of the line) if the line starts with a known label."""
    match = _LABEL_RE.match(line)
    if match is None:
        return None
    for i, (_, kind) in enumerate(_LABELS):
        if match.group(f"l{i}") is not None:
            return kind, match.group("rest")
    return None  # pragma: no cover - one alternative always matched


def classify(lines: Iterable[str], tag_pattern: re.Pattern[str] | None = None) -> Identifiers:
    """Sort the text read off a photo into serials, tags, models, brands and every visible
    identifier, by the rules of this module's docstring."""
    found = Identifiers()
    normalised = [n for n in (_normalise(line) for line in lines) if n]
    waiting: str | None = None  # a label seen alone on the previous line
    by_pattern: list[str] = []
    for line in normalised:
        labelled = _label(line)
        rest = line
        if labelled is not None:
            kind, rest = labelled
            if rest:
                _take(found, kind, rest)
            waiting = None if rest else kind
        elif waiting is not None:
            _take(found, waiting, line)
            waiting = None
        for token in _tokens(rest):
            if not identifier_like(token):
                continue
            if token not in found.visible:
                found.visible.append(token)
            if tag_pattern is not None and tag_pattern.fullmatch(token):
                by_pattern.append(token)
    # A labelled value is what its label says: a serial that happens to match the tag
    # pattern is not also proposed as the tag.
    claimed = {*found.serials, *found.models}
    for token in by_pattern:
        if token not in claimed:
            found.add("tag", token)
    return found


MAX_MODEL_LEN = 100


def _take(found: Identifiers, kind: str, text: str) -> None:
    """Record the value of a labelled line (rule 1)."""
    if kind == "brand":
        words = text.split(maxsplit=1)
        word = words[0].strip(":#.,") if words else ""
        if len(word) >= 2:
            found.add(kind, word)
        return
    if kind == "model" and len(text) <= MAX_MODEL_LEN:
        found.add(kind, text)
        return
    tokens = _tokens(text)
    if tokens and identifier_like(tokens[0]):
        found.add("model" if kind == "model_number" else kind, tokens[0])


def merge(*parts: Identifiers) -> Identifiers:
    """One `Identifiers` from several sources, the first source's values first."""
    merged = Identifiers()
    for part in parts:
        for kind, values in (
            ("serial", part.serials),
            ("tag", part.tags),
            ("model", part.models),
            ("brand", part.brands),
        ):
            for value in values:
                merged.add(kind, value)
        merged.visible.extend(v for v in part.visible if v not in merged.visible)
    return merged


UNKNOWN = "unknown"


def text_details(lines: Sequence[str]) -> dict[str, Any]:
    """The `describe --structured` fields that text alone can honestly give: brand and model
    from labelled lines, every visible identifier, and the text itself as the description.
    Category, colour, condition and damage cannot be read off a label: "unknown"."""
    from assetctl.core.describe.prompt import SCHEMA

    found = classify(lines)
    properties: dict[str, Any] = SCHEMA["properties"]
    details: dict[str, Any] = {
        key: [] if spec["type"] == "array" else UNKNOWN for key, spec in properties.items()
    }
    details["brand"] = first(found.brands) or UNKNOWN
    details["model"] = first(found.models) or UNKNOWN
    details["visible_identifiers"] = found.visible
    details["description"] = "\n".join(line for line in lines if line.strip())
    return details


def first(values: Sequence[str]) -> str | None:
    """The first candidate, or None when nothing was read."""
    return values[0] if values else None
