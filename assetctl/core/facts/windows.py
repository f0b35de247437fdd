"""Windows facts from CIM through PowerShell: one script asks Win32_BIOS,
Win32_ComputerSystemProduct, Win32_ComputerSystem, Win32_SystemEnclosure,
Win32_OperatingSystem and the physical Win32_NetworkAdapter instances and prints one JSON
object, which `parse_cim` reads."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from assetctl.core.facts.collect import Runner, run_command
from assetctl.core.facts.model import Facts, make_facts

SCRIPT = (
    "$ErrorActionPreference='Stop';"
    "[pscustomobject]@{"
    "BIOS=Get-CimInstance Win32_BIOS | Select-Object SerialNumber;"
    "Product=Get-CimInstance Win32_ComputerSystemProduct | Select-Object UUID,IdentifyingNumber;"
    "System=Get-CimInstance Win32_ComputerSystem | Select-Object Manufacturer,Model,DNSHostName,"
    "Domain;"
    "Enclosure=Get-CimInstance Win32_SystemEnclosure | Select-Object ChassisTypes;"
    "OS=Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version;"
    "Adapters=@(Get-CimInstance Win32_NetworkAdapter -Filter 'PhysicalAdapter=True' | "
    "Select-Object MACAddress)"
    "} | ConvertTo-Json -Depth 4 -Compress"
)
POWERSHELL = ("powershell.exe", "-NoProfile", "-NonInteractive", "-Command", SCRIPT)


def _one(value: Any) -> dict[str, Any]:
    """ConvertTo-Json gives an object for one instance and a list for several."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def parse_cim(text: str) -> Facts:
    # PowerShell 5 may write a UTF-8 byte order mark.
    data = json.loads(text.lstrip("\ufeff"))
    bios, product = _one(data.get("BIOS")), _one(data.get("Product"))
    system, enclosure, os_info = (_one(data.get(k)) for k in ("System", "Enclosure", "OS"))
    host = system.get("DNSHostName")
    domain = system.get("Domain")
    if host and domain and "." in str(domain):
        host = f"{host}.{domain}"
    types = enclosure.get("ChassisTypes") or []
    adapters = data.get("Adapters") or []
    adapters = adapters if isinstance(adapters, list) else [adapters]
    caption, version = os_info.get("Caption"), os_info.get("Version")
    return make_facts(
        serial=bios.get("SerialNumber") or product.get("IdentifyingNumber"),
        manufacturer=system.get("Manufacturer"),
        model=system.get("Model"),
        hardware_uuid=product.get("UUID"),
        hostname=host,
        os=" ".join(str(v) for v in (caption, version) if v) or None,
        mac_addresses=[a.get("MACAddress") for a in adapters if isinstance(a, dict)],
        chassis=types[0] if isinstance(types, list) and types else types or None,
    )


def collect_windows(*, serial: str | None = None, runner: Runner = run_command) -> Facts:
    facts = parse_cim(runner(POWERSHELL))
    return facts if serial is None else replace(facts, serial=serial)
