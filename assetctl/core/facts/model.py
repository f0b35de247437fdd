"""A machine's facts (serial, maker, model, hardware UUID, host name, OS, MAC addresses,
chassis) as every collector and every facts file yields them, and the rules that make them
usable: placeholder serials and UUIDs that firmware ships ("To Be Filled By O.E.M.", all-zero
UUIDs) are dropped with a note, UUIDs are lower-case and hyphenated, MACs lower-case.

Facts files come in two shapes, told apart by their keys: our own (what
`asset register --self --dry-run -o json` prints, `FACT_KEYS`) and osquery's `system_info`
row (`hardware_serial`, `uuid`, ...), bare, in an `osqueryi --json` array, or wrapped in a
scheduled-query log record (`{"columns": {...}}`, `{"snapshot": [...]}`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assetctl.errors import AssetctlError, InvalidInputError

# Our facts format, in its order (also the keys `--dry-run -o json` prints).
FACT_KEYS = (
    "serial", "manufacturer", "model", "hardware_uuid", "hostname", "os", "mac_addresses",
    "chassis",
)  # fmt: skip
# Facts that are asset fields of the same name (chassis only chooses a category).
ASSET_FACTS = FACT_KEYS[:-1]

# Serials firmware vendors leave in place of a real one (compared case-insensitively).
PLACEHOLDER_SERIALS = frozenset({
    "to be filled by o.e.m.", "default string", "system serial number", "0123456789",
    "serial number", "chassis serial number", "not specified", "not applicable", "none",
    "n/a", "na", "null", "unknown", "invalid", "oem", "o.e.m.", "123456789", "1234567890",
    "not available", "empty", "xxxxxxxxxx",
})  # fmt: skip
# UUIDs that many boards share (AMI's well-known pattern among them).
PLACEHOLDER_UUIDS = frozenset({
    "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "03000200-0400-0500-0006-000700080009", "00020003-0004-0005-0006-000700080009",
    "12345678-1234-5678-90ab-cddeefaabbcc",
})  # fmt: skip
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAC_RE = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")

# SMBIOS chassis types (DMI `chassis_type`, Win32_SystemEnclosure.ChassisTypes) -> category.
CHASSIS_CATEGORY = {
    **dict.fromkeys((8, 9, 10, 11, 14, 30, 31, 32), "laptop"),
    **dict.fromkeys((3, 4, 5, 6, 7, 13, 15, 16, 24, 34, 35, 36), "desktop"),
    **dict.fromkeys((17, 23, 25, 28, 29), "server"),
}


@dataclass(frozen=True)
class Facts:
    serial: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    hardware_uuid: str | None = None
    hostname: str | None = None
    os: str | None = None
    mac_addresses: tuple[str, ...] = ()
    chassis: str | None = None  # laptop, desktop or server
    # Values dropped as placeholders, for the message when nothing identifies the machine.
    dropped: tuple[str, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, Any]:
        """Our facts format (what `--facts` reads back)."""
        record: dict[str, Any] = {key: getattr(self, key) for key in FACT_KEYS}
        record["mac_addresses"] = list(self.mac_addresses)
        return record

    def asset_values(self) -> dict[str, str | None]:
        """The asset fields these facts set, as stored (MACs comma-separated)."""
        values: dict[str, str | None] = {key: getattr(self, key) for key in ASSET_FACTS}
        values["mac_addresses"] = ",".join(self.mac_addresses) or None
        return values


def swapped_uuid(uuid: str) -> str:
    """The UUID with its first three fields byte-swapped: SMBIOS 2.6+ stores them little
    endian, and firmware and tools disagree on which form they print."""
    parts = uuid.split("-")
    flipped = ["".join(reversed([p[i : i + 2] for i in range(0, len(p), 2)])) for p in parts[:3]]
    return "-".join([*flipped, *parts[3:]])


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def clean_serial(raw: object, dropped: list[str]) -> str | None:
    text = _text(raw)
    if text is None:
        return None
    if text.lower() in PLACEHOLDER_SERIALS or len(set(text.lower())) == 1:
        dropped.append(f"serial {text!r}")
        return None
    return text


def clean_uuid(raw: object, dropped: list[str]) -> str | None:
    text = _text(raw)
    if text is None:
        return None
    value = text.lower().strip("{}")
    if len(value) == 32 and "-" not in value:
        value = f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    if not _UUID_RE.fullmatch(value) or value in PLACEHOLDER_UUIDS:
        dropped.append(f"UUID {text!r}")
        return None
    return value


def clean_macs(raw: Iterable[object]) -> tuple[str, ...]:
    """Lower-case, colon-separated, unique, sorted; all-zero and broadcast dropped."""
    macs = set()
    for item in raw:
        text = (_text(item) or "").lower().replace("-", ":")
        if _MAC_RE.fullmatch(text) and text not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
            macs.add(text)
    return tuple(sorted(macs))


def chassis_of(code: object) -> str | None:
    """The category of an SMBIOS chassis type code (or of our own word)."""
    text = _text(code)
    if text is None:
        return None
    if text.lower() in ("laptop", "desktop", "server"):
        return text.lower()
    return CHASSIS_CATEGORY.get(int(text)) if text.isdigit() else None


def make_facts(
    *,
    serial: object = None,
    manufacturer: object = None,
    model: object = None,
    hardware_uuid: object = None,
    hostname: object = None,
    os: object = None,
    mac_addresses: Iterable[object] = (),
    chassis: object = None,
) -> Facts:
    """Facts from raw collected values, placeholders dropped (and noted)."""
    dropped: list[str] = []
    return Facts(
        serial=clean_serial(serial, dropped),
        manufacturer=_text(manufacturer),
        model=_text(model),
        hardware_uuid=clean_uuid(hardware_uuid, dropped),
        hostname=_text(hostname),
        os=_text(os),
        mac_addresses=clean_macs(mac_addresses),
        chassis=chassis_of(chassis),
        dropped=tuple(dropped),
    )


def facts_from_json(obj: object) -> Facts:
    """Facts from one JSON record: ours, or an osquery `system_info` row (bare or wrapped).
    Raises InvalidInputError for anything else."""
    if isinstance(obj, list) and len(obj) == 1:
        obj = obj[0]  # `osqueryi --json` prints an array of rows
    if isinstance(obj, Mapping) and isinstance(obj.get("columns"), Mapping):
        obj = obj["columns"]  # osquery differential log record
    if isinstance(obj, Mapping) and isinstance(obj.get("snapshot"), list) and obj["snapshot"]:
        obj = obj["snapshot"][0]  # osquery snapshot log record
    if not isinstance(obj, Mapping):
        raise InvalidInputError(f"facts must be a JSON object, not {type(obj).__name__}")
    if "hardware_serial" in obj or "uuid" in obj:
        return _from_osquery(obj)
    unknown = sorted(set(obj) - set(FACT_KEYS))
    if unknown:
        raise InvalidInputError(
            f"unknown fact {', '.join(unknown)}",
            hint=f"facts are {', '.join(FACT_KEYS)}, or an osquery system_info row",
        )
    macs = obj.get("mac_addresses") or ()
    if isinstance(macs, str):
        macs = macs.split(",")
    if not isinstance(macs, list | tuple):
        raise InvalidInputError("mac_addresses must be a list of MAC addresses")
    return make_facts(
        serial=obj.get("serial"),
        manufacturer=obj.get("manufacturer"),
        model=obj.get("model"),
        hardware_uuid=obj.get("hardware_uuid"),
        hostname=obj.get("hostname"),
        os=obj.get("os"),
        mac_addresses=macs,
        chassis=obj.get("chassis"),
    )


# osquery `interface_details.type` (IANA ifType) of Ethernet and Wi-Fi interfaces.
_IF_TYPES = ("6", "71")


def physical_interface_macs(rows: object) -> list[str]:
    """MACs of the physical interfaces among osquery `interface_details` rows: those with a
    `pci_slot` (Linux) or `physical_adapter` 1 (Windows), else Ethernet and Wi-Fi types."""
    if not isinstance(rows, list):
        return []
    rows = [r for r in rows if isinstance(r, Mapping) and r.get("mac")]
    if any("pci_slot" in r or "physical_adapter" in r for r in rows):
        keep = [r for r in rows if r.get("pci_slot") or str(r.get("physical_adapter")) == "1"]
    else:
        keep = [r for r in rows if str(r.get("type")) in _IF_TYPES]
    return [str(r["mac"]) for r in keep]


def _from_osquery(row: Mapping[str, Any]) -> Facts:
    """An osquery `system_info` row; `os_version`'s name and version may be joined in as
    `os_name`/`os_version`, the machine's `interface_details` rows as a list under
    `interface_details`, or MACs as `mac` or `mac_addresses`."""
    os_text = " ".join(str(row[k]) for k in ("os_name", "os_version") if row.get(k)) or None
    macs = row.get("mac_addresses") or row.get("mac") or ()
    if isinstance(macs, str):
        macs = macs.split(",")
    if "interface_details" in row:
        macs = physical_interface_macs(row["interface_details"])
    return make_facts(
        serial=row.get("hardware_serial"),
        manufacturer=row.get("hardware_vendor"),
        model=row.get("hardware_model"),
        hardware_uuid=row.get("uuid"),
        hostname=row.get("hostname") or row.get("computer_name"),
        os=os_text,
        mac_addresses=macs if isinstance(macs, list | tuple) else (),
        chassis=row.get("chassis"),
    )


@dataclass(frozen=True)
class Machine:
    """One machine to register: where its record was (line, or place in an array), and its
    facts or why they could not be read."""

    line: int
    facts: Facts | None
    error: AssetctlError | None = None


def read_machines(text: str) -> list[Machine]:
    """The machines of a facts file: one JSON object, a JSON array (as `osqueryi --json`
    prints), or JSON Lines with one record per line (blank lines skipped). Bad records
    become errors."""
    import json

    body = text.lstrip("\ufeff").strip()
    if body.startswith("{") and "\n" in body:
        try:  # one pretty-printed record, as `register --self --dry-run -o json` prints
            return [_machine(1, json.loads(body))]
        except ValueError:
            pass  # JSON Lines
    if body.startswith("["):
        try:
            rows = json.loads(body)
        except ValueError:
            return [Machine(1, None, InvalidInputError("the facts file is not valid JSON"))]
        return [_machine(n, row) for n, row in enumerate(rows, start=1)]
    machines = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            machines.append(Machine(number, None, InvalidInputError("not valid JSON")))
            continue
        machines.append(_machine(number, row))
    return machines


def _machine(line: int, row: object) -> Machine:
    try:
        return Machine(line, facts_from_json(row))
    except InvalidInputError as exc:
        return Machine(line, None, exc)
