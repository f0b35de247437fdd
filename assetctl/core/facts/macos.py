"""macOS facts: `ioreg` (serial, hardware UUID, maker, model identifier), `system_profiler`
(the model's name, which tells a MacBook from a desktop, and the macOS version) and
`networksetup` (the MAC address of every hardware port)."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

from assetctl.core.facts.collect import Runner, run_command
from assetctl.core.facts.model import Facts, make_facts

IOREG = ("ioreg", "-rd1", "-c", "IOPlatformExpertDevice")
PROFILER = ("system_profiler", "-json", "SPHardwareDataType", "SPSoftwareDataType")
PORTS = ("networksetup", "-listallhardwareports")

# `"key" = "value"` or `"key" = <"value">` (a data property holding a C string).
_IOREG_RE = re.compile(r'^\s*"([^"]+)" = <?"([^"]*)">?\s*$', re.MULTILINE)
_MAC_RE = re.compile(r"^Ethernet Address: ([0-9A-Fa-f:]{17})\s*$", re.MULTILINE)


def parse_ioreg(text: str) -> dict[str, str]:
    return {key: value.rstrip("\x00") for key, value in _IOREG_RE.findall(text)}


def parse_profiler(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The hardware and software sections of `system_profiler -json`."""
    data = json.loads(text)
    hardware = (data.get("SPHardwareDataType") or [{}])[0]
    software = (data.get("SPSoftwareDataType") or [{}])[0]
    return hardware, software


def chassis_of_model(name: str | None) -> str | None:
    if not name:
        return None
    if name.startswith("MacBook"):
        return "laptop"
    if name.startswith("Xserve"):
        return "server"
    return "desktop"  # iMac, Mac mini, Mac Studio, Mac Pro


def parse_macos(ioreg: str, profiler: str, ports: str, hostname: str | None) -> Facts:
    platform = parse_ioreg(ioreg)
    hardware, software = parse_profiler(profiler)
    version = software.get("os_version")
    return make_facts(
        serial=platform.get("IOPlatformSerialNumber") or hardware.get("serial_number"),
        manufacturer=platform.get("manufacturer") or "Apple Inc.",
        model=hardware.get("machine_name") or platform.get("model"),
        hardware_uuid=platform.get("IOPlatformUUID") or hardware.get("platform_UUID"),
        hostname=hostname or software.get("local_host_name"),
        os=version,
        mac_addresses=_MAC_RE.findall(ports),
        chassis=chassis_of_model(hardware.get("machine_name")),
    )


def collect_macos(*, serial: str | None = None, runner: Runner = run_command) -> Facts:
    facts = parse_macos(runner(IOREG), runner(PROFILER), runner(PORTS), socket.gethostname())
    if serial is None:
        return facts
    from dataclasses import replace

    return replace(facts, serial=serial)
