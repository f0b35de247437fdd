"""What `describe` asks the model: the default prompt, the JSON schema of `--structured`
answers, and the validation of those answers."""

from __future__ import annotations

import json
from typing import Any

DEFAULT_PROMPT = (
    "You are helping an IT department keep its asset inventory. Describe the device in this "
    "photo in 2 to 4 short factual sentences: the type of device, the brand and model if "
    "they are visible, the colour, its physical condition, any visible damage (scratches, "
    "cracks, dents, missing keys or parts) and any visible identifiers such as serial "
    "numbers, asset tags or labels, copied exactly. Describe only what is visible. If "
    'something cannot be seen clearly, say "unknown" rather than guess.'
)
CONDITIONS = ("new", "good", "fair", "poor", "damaged", "unknown")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "category": {"type": "string"},
        "brand": {"type": "string"},
        "model": {"type": "string"},
        "color": {"type": "string"},
        "condition": {"type": "string", "enum": list(CONDITIONS)},
        "visible_damage": {"type": "string"},
        "visible_identifiers": {"type": "array", "items": {"type": "string"}},
        "description": {"type": "string"},
    },
    "required": [
        "category", "brand", "model", "color", "condition", "visible_damage",
        "visible_identifiers", "description",
    ],
    "additionalProperties": False,
}  # fmt: skip
STRUCTURED_SUFFIX = (
    " Answer with one JSON object only, with the keys category, brand, model, color, "
    f"condition (one of: {', '.join(CONDITIONS)}), visible_damage, visible_identifiers (a "
    'list of strings) and description (the 2 to 4 sentences). Use "unknown" for anything '
    "not visible."
)


def validate_structured(text: str) -> tuple[dict[str, Any] | None, str]:
    """The answer as a dict if it matches SCHEMA, else (None, what is wrong)."""
    body = text.strip()
    if body.startswith("```"):  # some models wrap JSON in a Markdown fence
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return None, "not valid JSON"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    properties: dict[str, Any] = SCHEMA["properties"]
    missing = [key for key in SCHEMA["required"] if key not in data]
    if missing:
        return None, f"missing {', '.join(missing)}"
    extra = sorted(set(data) - set(properties))
    if extra:
        return None, f"unexpected {', '.join(extra)}"
    for key, spec in properties.items():
        value = data[key]
        if spec["type"] == "array":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return None, f"{key} is not a list of strings"
        elif not isinstance(value, str):
            return None, f"{key} is not a string"
        elif "enum" in spec and value not in spec["enum"]:
            return None, f"{key} {value!r} is not one of {', '.join(spec['enum'])}"
    if not data["description"].strip():
        return None, "description is empty"
    return data, ""
