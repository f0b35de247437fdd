"""Issue 16, fact collection: each collector parses recorded output (a fake sysfs tree,
saved ioreg/system_profiler/networksetup and PowerShell output, real osquery JSON shapes),
placeholders are dropped, and the Linux collector also runs for real on this machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from assetctl.core.facts.linux import collect_linux, os_release
from assetctl.core.facts.macos import parse_macos
from assetctl.core.facts.model import facts_from_json, make_facts, read_machines, swapped_uuid
from assetctl.core.facts.windows import collect_windows, parse_cim
from assetctl.errors import InvalidInputError

DATA = Path(__file__).parent / "data" / "facts"


def fake_sysfs(root: Path, **dmi: str) -> Path:
    """A recorded `/sys` and `/etc` tree: DMI attributes, a physical NIC, loopback, a bridge."""
    ident = root / "sys" / "class" / "dmi" / "id"
    ident.mkdir(parents=True)
    values = {
        "product_serial": "PF3ABCDE", "product_uuid": "4c4c4544-0042-3510-8052-b4c04f565a32",
        "sys_vendor": "LENOVO", "product_name": "21HMCTO1WW", "chassis_type": "10", **dmi,
    }  # fmt: skip
    for name, value in values.items():
        (ident / name).write_text(value + "\n")
    net = root / "sys" / "class" / "net"
    for name, mac, physical in (
        ("enp0s31f6", "F4:A8:0D:12:34:56", True),
        ("lo", "00:00:00:00:00:00", False),
        ("docker0", "02:42:ac:11:00:01", False),
    ):
        (net / name).mkdir(parents=True)
        (net / name / "address").write_text(mac + "\n")
        if physical:
            (net / name / "device").mkdir()
    etc = root / "etc"
    etc.mkdir()
    (etc / "os-release").write_text('NAME="Ubuntu"\nVERSION="24.04.1 LTS (Noble Numbat)"\n'
                                    'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\n')  # fmt: skip
    return root


def _linux(root: Path, **kwargs: object) -> dict[str, object]:
    facts = collect_linux(sys_root=root / "sys", etc_root=root / "etc", hostname="lap-42",
                          euid=1000, **kwargs)  # type: ignore[arg-type]  # fmt: skip
    return facts.as_dict()


def test_linux_collector_reads_a_sysfs_tree(tmp_path: Path) -> None:
    assert _linux(fake_sysfs(tmp_path)) == {
        "serial": "PF3ABCDE",
        "manufacturer": "LENOVO",
        "model": "21HMCTO1WW",
        "hardware_uuid": "4c4c4544-0042-3510-8052-b4c04f565a32",
        "hostname": "lap-42",
        "os": "Ubuntu 24.04.1 LTS",
        "mac_addresses": ["f4:a8:0d:12:34:56"],
        "chassis": "laptop",
    }


@pytest.mark.parametrize(
    ("serial", "uuid"),
    [
        ("To Be Filled By O.E.M.", "00000000-0000-0000-0000-000000000000"),
        ("Default string", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"),
        ("System Serial Number", "03000200-0400-0500-0006-000700080009"),
        ("0123456789", "not-a-uuid"),
        ("0000000000", ""),
    ],
)
def test_placeholders_are_dropped_and_named(tmp_path: Path, serial: str, uuid: str) -> None:
    facts = collect_linux(
        sys_root=fake_sysfs(tmp_path, product_serial=serial, product_uuid=uuid) / "sys",
        etc_root=tmp_path / "etc", euid=1000, hostname="h",
    )  # fmt: skip
    assert facts.serial is None and facts.hardware_uuid is None
    assert f"serial {serial!r}" in facts.dropped


def test_linux_serial_unreadable_without_root_names_file_and_sudo() -> None:
    """Run as `nobody` against a tree whose serial is root-only, as on a real machine."""
    with tempfile.TemporaryDirectory() as tmp:
        root = fake_sysfs(Path(tmp))
        os.chmod(tmp, 0o755)
        serial = root / "sys" / "class" / "dmi" / "id" / "product_serial"
        serial.chmod(0o400)
        probe = (
            "import sys, pathlib\n"
            "from assetctl.core.facts.linux import collect_linux\n"
            "from assetctl.errors import AssetctlError\n"
            "root = pathlib.Path(sys.argv[1])\n"
            "try:\n"
            "    collect_linux(sys_root=root / 'sys', etc_root=root / 'etc')\n"
            "except AssetctlError as exc:\n"
            "    print(int(exc.exit_status), exc.message, '|', exc.hint)\n"
        )
        proc = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-c", probe, str(root)],
            capture_output=True, text=True, check=False, cwd=Path(__file__).parents[1],
        )  # fmt: skip
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody")
    assert proc.stdout.startswith("2 "), (proc.stdout, proc.stderr)
    assert str(serial) in proc.stdout and "sudo" in proc.stdout and "--serial" in proc.stdout


# The real machine's /sys/class, as `register --self` meets it: hidden in a private mount
# namespace by a tmpfs holding a root-only product_serial, then the installed entry point runs
# as `nobody`.
_HIDE_SYS_CLASS = """
set -e
mount -t tmpfs -o size=1m,mode=755 assetctl-test /sys/class
mkdir -p /sys/class/dmi/id /sys/class/net
printf 'PF3ABCDE\\n' > /sys/class/dmi/id/product_serial
chmod 400 /sys/class/dmi/id/product_serial
printf 'LENOVO\\n' > /sys/class/dmi/id/sys_vendor
exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
"""


@pytest.mark.parametrize("output", [(), ("-o", "json")])
def test_register_self_without_permission_names_file_and_sudo(output: tuple[str, ...]) -> None:
    """`assetctl asset register --self` as a user who cannot read the firmware's serial:
    exit 2 naming the file and sudo, and no database created or written."""
    from tests.conftest import ASSETCTL_BIN

    if os.geteuid() != 0:
        pytest.skip("needs root to build a private mount namespace and drop to nobody")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": tmp, "XDG_DATA_HOME": tmp}
        for name in ("ASSETCTL_DATABASE_URL", "ASSETCTL_CONFIG", "ASSETCTL_TOKEN"):
            env.pop(name, None)
        proc = subprocess.run(
            ["unshare", "--mount", "sh", "-c", _HIDE_SYS_CLASS, "sh",
             str(ASSETCTL_BIN), "asset", "register", "--self", "--dry-run", *output],
            capture_output=True, text=True, check=False, cwd=tmp, env=env, timeout=60,
        )  # fmt: skip
        created = sorted(p.name for p in Path(tmp).iterdir())
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    if output:
        error = json.loads(proc.stderr)["error"]
        message = f"{error['message']} {error.get('hint', '')}"
    else:
        message = proc.stderr
        assert "Traceback" not in message
    assert "/sys/class/dmi/id/product_serial" in message
    assert "sudo" in message and "--serial" in message
    assert created == []


def test_linux_serial_override_skips_the_root_only_file(tmp_path: Path) -> None:
    root = fake_sysfs(tmp_path, product_serial="Default string")
    assert _linux(root, serial="MY-SERIAL")["serial"] == "MY-SERIAL"


def test_linux_collector_runs_for_real_on_this_machine() -> None:
    facts = collect_linux()
    assert facts.hostname == socket.gethostname()
    assert facts.os == os_release(Path("/etc"))
    net = Path("/sys/class/net")
    physical = {
        (i / "address").read_text().strip().lower()
        for i in net.iterdir()
        if (i / "device").exists()
    }
    assert set(facts.mac_addresses) == physical - {"00:00:00:00:00:00"}
    dmi = Path("/sys/class/dmi/id/product_name")
    if dmi.exists():
        assert facts.model == (dmi.read_text().strip() or None)


def test_macos_from_saved_ioreg_system_profiler_networksetup() -> None:
    facts = parse_macos(
        (DATA / "ioreg_macbookpro.txt").read_text(),
        (DATA / "system_profiler_macbookpro.json").read_text(),
        (DATA / "networksetup_macbookpro.txt").read_text(),
        "alices-mbp.corp.example.com",
    )
    assert facts.as_dict() == {
        "serial": "C02X6134MD6M",
        "manufacturer": "Apple Inc.",
        "model": "MacBook Pro",
        "hardware_uuid": "8c6d0a2d-5d7c-5f31-9f2b-2c4e7a7e3b11",
        "hostname": "alices-mbp.corp.example.com",
        "os": "macOS 14.4.1 (23E224)",
        "mac_addresses": ["36:2b:91:a0:4c:11", "3c:a6:f6:1e:08:9d"],
        "chassis": "laptop",
    }


def _fake_macos_tools(bin_dir: Path, *, failing: str = "") -> None:
    """`ioreg`, `system_profiler` and `networksetup` on PATH that print the saved output
    of a MacBook Pro (and check they are called with the arguments macOS needs)."""
    saved = {
        "ioreg": ("-rd1 -c IOPlatformExpertDevice", "ioreg_macbookpro.txt"),
        "system_profiler": (
            "-json SPHardwareDataType SPSoftwareDataType", "system_profiler_macbookpro.json"),
        "networksetup": ("-listallhardwareports", "networksetup_macbookpro.txt"),
    }  # fmt: skip
    bin_dir.mkdir()
    for tool, (args, data) in saved.items():
        script = bin_dir / tool
        status = 1 if tool == failing else 0
        script.write_text(
            "#!/bin/sh\n"
            f'[ "$*" = "{args}" ] || {{ echo "unexpected arguments: $*" >&2; exit 64; }}\n'
            f"cat '{DATA / data}'\nexit {status}\n"
        )
        script.chmod(0o755)


def test_collect_macos_runs_the_tools_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetctl.core.facts.macos import collect_macos

    _fake_macos_tools(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    facts = collect_macos()
    assert facts.serial == "C02X6134MD6M"
    assert facts.hardware_uuid == "8c6d0a2d-5d7c-5f31-9f2b-2c4e7a7e3b11"
    assert facts.hostname == socket.gethostname()
    assert facts.mac_addresses == ("36:2b:91:a0:4c:11", "3c:a6:f6:1e:08:9d")
    # --serial stands in for the firmware's serial; the rest is still read.
    overridden = collect_macos(serial="MY-SERIAL")
    assert overridden.serial == "MY-SERIAL" and overridden.model == "MacBook Pro"


def test_collect_macos_failing_tool_is_a_service_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetctl.core.facts.macos import collect_macos
    from assetctl.errors import ServiceUnavailableError

    _fake_macos_tools(tmp_path / "bin", failing="system_profiler")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    with pytest.raises(ServiceUnavailableError, match="system_profiler failed") as caught:
        collect_macos()
    assert caught.value.hint is not None and "--facts FILE" in caught.value.hint


def test_windows_from_saved_powershell_cim_output() -> None:
    seen: list[Sequence[str]] = []

    def runner(argv: Sequence[str]) -> str:
        seen.append(argv)
        return (DATA / "powershell_cim_lenovo.json").read_text(encoding="utf-8")

    facts = collect_windows(runner=runner)
    assert seen[0][0] == "powershell.exe" and "Win32_BIOS" in seen[0][-1]
    assert facts.as_dict() == {
        "serial": "PF3ABCDE",
        "manufacturer": "LENOVO",
        "model": "21HMCTO1WW",
        "hardware_uuid": "4c4c4544-0042-3510-8052-b4c04f565a32",
        "hostname": "LAP-0042.corp.example.com",
        "os": "Microsoft Windows 11 Enterprise 10.0.22631",
        "mac_addresses": ["70:08:94:ab:cd:ef", "f4:a8:0d:12:34:56"],
        "chassis": "laptop",
    }
    assert parse_cim('{"Enclosure": {"ChassisTypes": [23]}}').chassis == "server"


def test_osquery_shapes() -> None:
    array = json.loads((DATA / "osqueryi_system_info.json").read_text())
    facts = facts_from_json(array)
    assert (facts.serial, facts.manufacturer, facts.model) == (
        "7X3Q2K3", "Dell Inc.", "PowerEdge R640",
    )  # fmt: skip
    assert facts.hardware_uuid == "4c4c4544-0058-3310-8051-b7c04f324b33"
    assert facts.hostname == "build-07.corp.example.com"
    machines = read_machines((DATA / "osquery_results.log").read_text())
    assert [m.line for m in machines] == [1, 2]
    assert machines[0].facts is not None and machines[0].facts.serial == "5CG1234XYZ"
    second = machines[1].facts
    assert second is not None and second.serial is None and second.hardware_uuid is None
    assert len(second.dropped) == 2


def test_our_format_round_trips_and_rejects_unknown_keys() -> None:
    facts = make_facts(serial="S1", hardware_uuid="4C4C4544004235108052B4C04F565A32",
                       mac_addresses=["AA-BB-CC-DD-EE-FF"], chassis="9")  # fmt: skip
    assert facts_from_json(facts.as_dict()) == facts
    assert facts.hardware_uuid == "4c4c4544-0042-3510-8052-b4c04f565a32"
    with pytest.raises(InvalidInputError, match="unknown fact colour"):
        facts_from_json({"serial": "S", "colour": "red"})


def test_swapped_uuid() -> None:
    uuid = "00112233-4455-6677-8899-aabbccddeeff"
    assert swapped_uuid(uuid) == "33221100-5544-7766-8899-aabbccddeeff"
    assert swapped_uuid(swapped_uuid(uuid)) == uuid


def test_osquery_interface_details_rows_give_physical_macs() -> None:
    """`interface_details` rows as osquery prints them (all values text), joined to the
    machine's `system_info` row under `interface_details`."""
    linux = [
        {"interface": "lo", "mac": "00:00:00:00:00:00", "type": "772", "pci_slot": ""},
        {"interface": "enp0s31f6", "mac": "f4:a8:0d:12:34:56", "type": "1",
         "pci_slot": "0000:00:1f.6"},
        {"interface": "docker0", "mac": "02:42:ac:11:00:01", "type": "1", "pci_slot": ""},
    ]  # fmt: skip
    windows = [
        {"interface": "13", "mac": "70:08:94:AB:CD:EF", "type": "71", "physical_adapter": "1"},
        {"interface": "22", "mac": "00:15:5D:01:02:03", "type": "6", "physical_adapter": "0"},
    ]
    mac_os = [
        {"interface": "en0", "mac": "3c:a6:f6:1e:08:9d", "type": "6"},
        {"interface": "utun0", "mac": "00:00:00:00:00:00", "type": "1"},
        {"interface": "bridge0", "mac": "36:2b:91:a0:4c:00", "type": "209"},
    ]
    base = json.loads((DATA / "osqueryi_system_info.json").read_text())[0]
    for rows, expected in (
        (linux, ("f4:a8:0d:12:34:56",)),
        (windows, ("70:08:94:ab:cd:ef",)),
        (mac_os, ("3c:a6:f6:1e:08:9d",)),
    ):
        assert facts_from_json({**base, "interface_details": rows}).mac_addresses == expected
