"""Linux facts: the firmware's DMI table under `/sys/class/dmi/id` (serial and UUID are
readable by root only; as root, `dmidecode` fills what sysfs lacks), `/etc/os-release`, and
the MAC addresses of interfaces backed by a device (`/sys/class/net/*/device`), which leaves
out loopback, bridges, bonds and tunnels."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from assetctl.core.facts.collect import Runner, run_command
from assetctl.core.facts.model import Facts, make_facts
from assetctl.errors import InvalidInputError


class _Unreadable(Exception):
    pass


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip() or None
    except FileNotFoundError:
        return None
    except PermissionError:
        raise _Unreadable(str(path)) from None
    except OSError:  # some firmware makes a DMI attribute fail to read
        return None


def os_release(etc: Path) -> str | None:
    """PRETTY_NAME of os-release, else NAME and VERSION."""
    values: dict[str, str] = {}
    for name in ("os-release", "../usr/lib/os-release"):
        text = _read(etc / name)
        if text is None:
            continue
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip().strip("\"'")
        break
    if values.get("PRETTY_NAME"):
        return values["PRETTY_NAME"]
    joined = " ".join(v for v in (values.get("NAME"), values.get("VERSION")) if v)
    return joined or None


def physical_macs(net: Path) -> list[str]:
    if not net.is_dir():
        return []
    macs = []
    for interface in sorted(net.iterdir()):
        if (interface / "device").exists():
            mac = _read(interface / "address")
            if mac:
                macs.append(mac)
    return macs


# Where the kernel and the distribution publish what we read (tests point them at a tree).
SYS_ROOT = Path("/sys")
ETC_ROOT = Path("/etc")


def collect_linux(
    *,
    serial: str | None = None,
    runner: Runner = run_command,
    sys_root: Path | None = None,
    etc_root: Path | None = None,
    euid: int | None = None,
    hostname: str | None = None,
) -> Facts:
    """The facts of this Linux machine."""
    sys_root, etc_root = sys_root or SYS_ROOT, etc_root or ETC_ROOT
    dmi = sys_root / "class" / "dmi" / "id"
    root = (os.geteuid() if euid is None else euid) == 0
    found_serial = serial
    if found_serial is None:
        try:
            found_serial = _read(dmi / "product_serial")
        except _Unreadable as exc:
            if not (root and shutil.which("dmidecode")):
                raise InvalidInputError(
                    f"no permission to read the serial number from {exc}",
                    hint="run it with sudo, or pass --serial S",
                ) from None
    try:
        uuid = _read(dmi / "product_uuid")
    except _Unreadable:
        uuid = None
    if root and (found_serial is None or uuid is None) and shutil.which("dmidecode"):
        found_serial = found_serial or runner(["dmidecode", "-s", "system-serial-number"])
        uuid = uuid or runner(["dmidecode", "-s", "system-uuid"])
    return make_facts(
        serial=found_serial,
        manufacturer=_read(dmi / "sys_vendor"),
        model=_read(dmi / "product_name"),
        hardware_uuid=uuid,
        hostname=hostname or socket.gethostname(),
        os=os_release(etc_root),
        mac_addresses=physical_macs(sys_root / "class" / "net"),
        chassis=_read(dmi / "chassis_type"),
    )
