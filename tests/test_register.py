"""Issue 16, "Machines that register themselves": `asset register --self | --facts FILE`.
Matching by serial then hardware UUID (either byte order), never by host name; a second run
writes nothing; placeholders and inconsistent batches are refused with nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .asset_fixtures import events_of, insert_assets, snapshot
from .conftest import Cli

DATA = Path(__file__).parent / "data" / "facts"
UUID = "4c4c4544-0042-3510-8052-b4c04f565a32"


def _facts(tmp_path: Path, *records: dict[str, object], name: str = "facts.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def _machine(
    serial: str | None = "PF3ABCDE", uuid: str | None = UUID, **more: object
) -> dict[str, object]:
    return {"serial": serial, "manufacturer": "LENOVO", "model": "T14", "hardware_uuid": uuid,
            "hostname": "lap-42", "os": "Ubuntu 24.04.1 LTS",
            "mac_addresses": ["f4:a8:0d:12:34:56"], "chassis": "laptop", **more}  # fmt: skip


def test_facts_file_creates_then_second_run_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    path = _facts(tmp_path, _machine())
    first = cli.ok("asset", "register", "--facts", path, "--tag-prefix", "LAP-", "-o", "jsonl")
    row = json.loads(first.stdout)
    assert row["result"] == "created"
    asset = cli.ok("asset", "show", "LAP-PF3ABCDE", "-o", "json").json()
    assert (asset["category"], asset["name"], asset["hardware_uuid"]) == (
        "laptop",
        "LENOVO T14",
        UUID,
    )
    assert asset["mac_addresses"] == "f4:a8:0d:12:34:56" and asset["os"] == "Ubuntu 24.04.1 LTS"
    assert [e["action"] for e in events_of(url, "LAP-PF3ABCDE")] == ["registered"]
    before = snapshot(url)
    again = cli.ok("asset", "register", "--facts", path, "-o", "jsonl")
    assert json.loads(again.stdout)["result"] == "unchanged"
    assert "1 unchanged" in again.stderr
    assert snapshot(url) == before


def test_match_by_serial_updates_changed_facts(cli: Cli, tmp_path: Path) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    insert_assets(
        url, [{"tag": "LAP-7", "name": "Old", "category": "laptop", "serial": "PF3ABCDE"}]
    )
    cli.ok("asset", "register", "--facts", _facts(tmp_path, _machine(hostname="lap-7")))
    asset = cli.ok("asset", "show", "LAP-7", "-o", "json").json()
    assert (asset["hostname"], asset["hardware_uuid"], asset["name"]) == ("lap-7", UUID, "Old")
    assert [e["action"] for e in events_of(url, "LAP-7")] == ["created", "updated"]


def test_match_by_byte_swapped_uuid_and_never_by_hostname(cli: Cli, tmp_path: Path) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    swapped = "4445 4c4c-4200-1035-8052-b4c04f565a32".replace(" ", "")
    insert_assets(url, [
        {"tag": "SRV-1", "name": "S", "category": "server", "hardware_uuid": swapped,
         "hostname": "lap-42"},
    ])  # fmt: skip
    facts = _facts(tmp_path, _machine(serial=None, hostname=None))
    result = cli.ok("asset", "register", "--facts", facts, "-o", "jsonl")
    assert json.loads(result.stdout)["result"] == "updated"
    asset = cli.ok("asset", "show", "SRV-1", "-o", "json").json()
    assert asset["hardware_uuid"] == swapped and asset["model"] == "T14"
    assert len(cli.ok("asset", "list", "-o", "json").json()["items"]) == 1
    before = snapshot(url)
    again = cli.ok("asset", "register", "--facts", facts, "-o", "jsonl")
    assert json.loads(again.stdout)["result"] == "unchanged"
    assert snapshot(url) == before
    # Same host name, different machine: a new asset, not SRV-1.
    other = _machine(serial="OTHER-1", uuid="11111111-2222-3333-4444-555555555555")
    cli.ok("asset", "register", "--facts", _facts(tmp_path, other, name="b.jsonl"))
    assert cli.ok("asset", "show", "OTHER-1", "-o", "json").json()["hostname"] == "lap-42"


def test_placeholder_serial_and_uuid_is_2(cli: Cli, tmp_path: Path) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    before = snapshot(url)
    bad = _machine(serial="To Be Filled By O.E.M.", uuid="00000000-0000-0000-0000-000000000000")
    result = cli("asset", "register", "--facts", _facts(tmp_path, bad))
    assert result.exit_code == 2, result.stderr
    assert "'To Be Filled By O.E.M.' is a placeholder" in result.stderr
    assert "00000000-0000-0000-0000-000000000000" in result.stderr
    assert snapshot(url) == before


def test_self_on_this_machine(cli: Cli) -> None:
    """The real Linux collector: with --serial it registers, and again writes nothing."""
    url = cli.env["ASSETCTL_DATABASE_URL"]
    dry = cli("asset", "register", "--self", "--dry-run", "-o", "json")
    facts = json.loads(dry.stdout)
    assert set(facts) >= {"serial", "hardware_uuid", "hostname", "os", "mac_addresses"}
    if facts["serial"] is None and facts["hardware_uuid"] is None:
        assert dry.exit_code == 2 and "--tag" in dry.stderr and "--serial" in dry.stderr
    first = cli.ok(
        "asset", "register", "--self", "--serial", "SELF-1", "--tag", "ME-1", "-o", "json"
    )
    assert first.json()["tag"] == "ME-1" and first.json()["hostname"] == facts["hostname"]
    before = snapshot(url)
    again = cli.ok("asset", "register", "--self", "--serial", "SELF-1")
    assert "nothing was written" in again.stderr
    assert snapshot(url) == before


def test_self_dry_run_output_is_a_facts_file(cli: Cli, tmp_path: Path) -> None:
    dry = cli("asset", "register", "--self", "--serial", "SELF-2", "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.stderr
    path = tmp_path / "me.json"
    path.write_text(dry.stdout)
    assert cli.ok("asset", "list", "-o", "json").json()["items"] == []
    cli.ok("asset", "register", "--facts", str(path), "--category", "server")
    assert cli.ok("asset", "show", "SELF-2", "-o", "json").json()["category"] == "server"


def test_same_serial_two_uuids_in_one_batch_is_6_on_both(cli: Cli, tmp_path: Path) -> None:
    url = cli.env["ASSETCTL_DATABASE_URL"]
    before = snapshot(url)
    path = _facts(
        tmp_path,
        _machine(serial="OK-1", uuid="aaaaaaaa-0000-0000-0000-000000000001"),
        _machine(serial="DUP", uuid="aaaaaaaa-0000-0000-0000-000000000002"),
        _machine(serial="DUP", uuid="aaaaaaaa-0000-0000-0000-000000000003"),
    )
    result = cli("asset", "register", "--facts", path)
    assert result.exit_code == 6, result.stderr
    assert "line 2, DUP" in result.stderr and "line 3, DUP" in result.stderr
    assert result.stderr.count("(exit 6)") == 2
    assert snapshot(url) == before


def test_osquery_log_lines_and_continue_on_error(cli: Cli, tmp_path: Path) -> None:
    log = tmp_path / "osquery.log"
    shutil.copy(DATA / "osquery_results.log", log)
    refused = cli("asset", "register", "--facts", str(log))
    assert refused.exit_code == 2 and "line 2" in refused.stderr
    partial = cli("asset", "register", "--facts", str(log), "--continue-on-error", "-o", "jsonl")
    assert partial.exit_code == 2
    assert [json.loads(x)["result"] for x in partial.stdout.splitlines()] == ["created", "failed"]
    asset = cli.ok("asset", "show", "5CG1234XYZ", "-o", "json").json()
    assert asset["model"] == "HP EliteBook 845 G8"


def test_osqueryi_array_on_stdin_and_new_fields_filter_search_export(cli: Cli) -> None:
    text = (DATA / "osqueryi_system_info.json").read_text()
    cli.ok("asset", "register", "--facts", "-", "--tag-prefix", "SRV-", input=text)
    found = cli.ok(
        "asset", "list", "--hardware-uuid", "4C4C4544-0058-3310-8051-B7C04F324B33", "-o", "json"
    )
    assert [a["tag"] for a in found.json()["items"]] == ["SRV-7X3Q2K3"]
    assert cli.ok("asset", "list", "--hostname", "build-07.corp.example.com", "-o", "json").json()[
        "items"
    ]
    exported = cli.ok("asset", "export", "-o", "jsonl").stdout
    assert json.loads(exported)["hardware_uuid"] == "4c4c4544-0058-3310-8051-b7c04f324b33"


def test_many_machines_in_one_command(cli: Cli, tmp_path: Path) -> None:
    records = [
        _machine(serial=f"S-{n}", uuid=f"bbbbbbbb-0000-0000-0000-{n:012d}") for n in range(50)
    ]
    result = cli.sub("asset", "register", "--facts", "-", "-o", "jsonl",
                     input="".join(json.dumps(r) + "\n" for r in records))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [json.loads(x)["result"] for x in result.stdout.splitlines()] == ["created"] * 50
    assert "50 created" in result.stderr


def test_self_and_facts_together_is_2(cli: Cli, tmp_path: Path) -> None:
    result = cli("asset", "register", "--self", "--facts", _facts(tmp_path, _machine()))
    assert result.exit_code == 2 and "either --self or --facts" in result.stderr


def test_self_with_placeholder_serial_and_uuid_is_2(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`register --self` on a board that reports placeholders (a recorded sysfs tree)."""
    import platform

    from assetctl.core.facts import linux

    from .test_facts import fake_sysfs

    if platform.system() != "Linux":
        pytest.skip("the Linux collector")
    root = fake_sysfs(tmp_path, product_serial="Default string",
                      product_uuid="03000200-0400-0500-0006-000700080009")  # fmt: skip
    monkeypatch.setattr(linux, "SYS_ROOT", root / "sys")
    monkeypatch.setattr(linux, "ETC_ROOT", root / "etc")
    url = cli.env["ASSETCTL_DATABASE_URL"]
    before = snapshot(url)
    result = cli("asset", "register", "--self")
    assert result.exit_code == 2, result.stderr
    assert "'Default string' is a placeholder" in result.stderr
    assert "03000200-0400-0500-0006-000700080009" in result.stderr
    assert "--tag" in result.stderr and "--serial" in result.stderr
    assert snapshot(url) == before
    made = cli.ok(
        "asset", "register", "--self", "--serial", "REAL-1", "--tag", "LAP-9", "-o", "json"
    )
    assert made.json()["category"] == "laptop" and made.json()["manufacturer"] == "LENOVO"


def test_new_fields_import_and_update_like_any_field(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    row = {"tag": "IMP-1", "name": "n", "category": "laptop", "hardware_uuid": UUID.upper(),
           "os": "Windows 11", "mac_addresses": "AA:BB:CC:DD:EE:FF"}  # fmt: skip
    path.write_text(json.dumps(row) + "\n")
    cli.ok("asset", "import", str(path))
    shown = cli.ok("asset", "show", "IMP-1", "-o", "json").json()
    assert (shown["hardware_uuid"], shown["mac_addresses"]) == (UUID, "aa:bb:cc:dd:ee:ff")
    cli.ok("asset", "update", "IMP-1", "--os", "Windows 11 24H2", "--mac-addresses", "")
    found = cli.ok("asset", "list", "--search", "24H2", "-o", "json").json()["items"]
    assert [(a["tag"], a["mac_addresses"]) for a in found] == [("IMP-1", None)]
