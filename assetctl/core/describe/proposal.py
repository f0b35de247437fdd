"""Asset fields proposed from a label photo, for `asset add --from-photo`.

The embedded OCR provider reads the text; `identifiers.classify` picks the serial, tag, model
and brand out of it. When a vision-language model is configured, its structured answer adds
what text cannot give (category, a brand or model printed as a logo) and its
`visible_identifiers` are classified like OCR lines. Where both give a value, the text read
off the label wins: it is copied, not interpreted. Every proposal names its source, is
checked against the field rules and is only a proposal: the command shows it for
confirmation. The photo is normalised in memory and never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.describe.identifiers import Identifiers, classify, first, merge
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.config import Settings
    from assetctl.core.describe.service import DescribeOptions

OCR_SOURCE = "ocr"
# What a vision model writes for a field it cannot see (the prompt asks for "unknown").
_NOT_SEEN = frozenset({"", "unknown", "n/a", "none", "not visible", "unreadable"})
# The fields a photo can propose, in the order they are shown.
PROPOSABLE = ("tag", "serial", "manufacturer", "model", "name", "category")


@dataclass(frozen=True)
class Proposed:
    value: str
    source: str  # "ocr", or the vision model's preset name


@dataclass
class PhotoProposal:
    """What one photo gave: the text read, and a proposed value per field it could fill."""

    file: str
    text: list[str]
    reader: str
    fields: dict[str, Proposed] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def propose_from_photo(settings: Settings, photo: str) -> PhotoProposal:
    """Read `photo` with the OCR provider (plus the configured vision model, if any) and
    propose tag, serial, manufacturer, model, name and category.

    Raises InvalidInputError (exit 2) for a missing, oversized or unreadable photo (checked
    first: it is quick), and ServiceUnavailableError (exit 7) when the `ocr` extra is not
    installed.
    """
    from assetctl.core.describe.images import limit_pixels, prepare_image
    from assetctl.core.describe.service import DescribeOptions, provider_config, vlm_configured
    from assetctl.providers.base import ProviderConfig
    from assetctl.providers.ocr import OcrProvider
    from assetctl.providers.presets import OCR

    options = DescribeOptions(
        structured=True,
        max_bytes=int(settings.values["image_max_bytes"]),
        max_edge=int(settings.values["image_max_edge"]),
        max_pixels=int(settings.values["image_max_pixels"]),
        concurrency=1,
    )
    limit_pixels()
    image = prepare_image(
        Path(photo), max_bytes=options.max_bytes, max_edge=options.max_edge,
        max_pixels=options.max_pixels,
    )  # fmt: skip
    # OCR always, whatever vision model is configured: it has no server, model or address.
    reader = OcrProvider(ProviderConfig(preset=OCR, kind=OCR, base_url="", model=""))
    try:
        lines = [line.text for line in reader.read(image.jpeg)]
    finally:
        reader.close()
    proposal = PhotoProposal(photo, lines, reader.model)
    pattern = str(settings.values["tag_pattern"])
    tag_re = re.compile(pattern) if pattern else None
    found = classify(lines, tag_re)
    details: dict[str, Any] = {}
    vlm = provider_config(settings)
    if vlm.kind != OCR and vlm_configured(settings):
        details = _ask_vision_model(settings, photo, options, proposal)
        identifiers = [str(v) for v in details.get("visible_identifiers", [])]
        found = merge(found, classify(identifiers, tag_re))
    _propose(proposal, found, details, vlm.preset)
    return proposal


def check_may_add(session: Session, caller: Principal) -> None:
    """Before a photo is read and its proposals are confirmed: the caller is logged in and
    may add assets, so nobody answers prompts for an asset they cannot add."""
    require(caller, Permission.WRITE)


def _ask_vision_model(
    settings: Settings, photo: str, options: DescribeOptions, proposal: PhotoProposal
) -> dict[str, Any]:
    """The configured vision model's structured answer, or {} with a warning: the text read
    by OCR still gives proposals when the model fails."""
    from assetctl.core.describe.run import describe_files
    from assetctl.core.describe.service import collect_targets

    (result,) = describe_files(settings, collect_targets([photo]), options)
    if not result.ok:
        proposal.warnings.append(
            f"the vision model gave no answer ({result.error}); proposals come from OCR alone"
        )
        return {}
    if result.details is None:
        proposal.warnings.append(
            "the vision model's answer was not structured; proposals come from OCR alone"
        )
        return {}
    return result.details


def _seen(details: dict[str, Any], key: str) -> str | None:
    value = details.get(key)
    if not isinstance(value, str) or value.strip().lower() in _NOT_SEEN:
        return None
    return value.strip()


def _propose(
    proposal: PhotoProposal, found: Identifiers, details: dict[str, Any], vlm: str
) -> None:
    """Fill `proposal.fields`: the label's text first, then the vision model."""
    candidates: dict[str, list[tuple[str | None, str]]] = {
        "tag": [(first(found.tags), OCR_SOURCE)],
        "serial": [(first(found.serials), OCR_SOURCE)],
        "manufacturer": [(first(found.brands), OCR_SOURCE), (_seen(details, "brand"), vlm)],
        "model": [(first(found.models), OCR_SOURCE), (_seen(details, "model"), vlm)],
        "category": [(_seen(details, "category"), vlm)],
    }
    for key, options in candidates.items():
        for value, source in options:
            if value is not None and _acceptable(proposal, key, value):
                proposal.fields[key] = Proposed(value, source)
                break
    # A name only from what was read: "<manufacturer> <model>", or the model alone.
    model = proposal.fields.get("model")
    if model is not None:
        maker = proposal.fields.get("manufacturer")
        if maker is not None and not model.value.lower().startswith(maker.value.lower()):
            name = Proposed(f"{maker.value} {model.value}", _sources(maker, model))
        else:
            name = model
        if _acceptable(proposal, "name", name.value):
            proposal.fields["name"] = name
    proposal.fields = {k: proposal.fields[k] for k in PROPOSABLE if k in proposal.fields}


def _sources(*parts: Proposed) -> str:
    return "+".join(dict.fromkeys(p.source for p in parts))


def _acceptable(proposal: PhotoProposal, name: str, value: str) -> bool:
    """Does the value pass the field's rules? A value read off a photo that does not (too
    long, control characters) is left out with a warning rather than failing the command."""
    from assetctl.core.assets.fields import PARSERS

    try:
        PARSERS[name](value)
    except InvalidInputError as exc:
        proposal.warnings.append(f"not proposing {name} {value!r}: {exc.message}")
        return False
    return True
