"""Issue 4 with a GeoIP database (written here with mmdb-writer): new country, impossible
travel (after the accuracy radii), and bad GeoIP files falling back to IP-only detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alert_fakes import IP_A, IP_B, IP_C, IP_MANCHESTER, Echo, echo, write_geoip
from tests.alert_helpers import alerts, events, login
from tests.auth_helpers import register
from tests.conftest import Cli, CliResult

__all__ = ["echo"]

USER = "user@example.com"


def _login_twice(cli: Cli, echo: Echo, geoip: Path, second_ip: str) -> CliResult:
    """Register USER and log in from IP_A, then from `second_ip`, with `geoip` as the GeoIP
    database. Both logins must succeed; returns the second."""
    register(cli, USER, "viewer")
    env = {
        "ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, second_ip),
        "ASSETCTL_GEOIP_DB": str(geoip),
    }
    assert login(cli, USER, env).exit_code == 0
    second = login(cli, USER, env)
    assert second.exit_code == 0, second.stderr
    return second


def test_new_country_and_impossible_travel(
    cli: Cli, db_url: str, echo: Echo, tmp_path: Path
) -> None:
    result = _login_twice(cli, echo, write_geoip(tmp_path / "city.mmdb"), IP_B)
    london, tokyo = events(db_url, USER)
    assert (london["country"], london["city"], london["network"]) == ("GB", "London",
                                                                      "81.2.69.0/24")  # fmt: skip
    assert london["accuracy_radius"] == 200
    assert (tokyo["country"], tokyo["city"]) == ("JP", "Tokyo")
    assert tokyo["latitude"] == pytest.approx(35.68) and tokyo["longitude"] == pytest.approx(139.69)
    raised = {a["kind"]: a for a in alerts(db_url)}
    assert {kind: a["severity"] for kind, a in raised.items()} == {
        "new_ip": "warning",
        "new_country": "high",
        "impossible_travel": "critical",
    }
    assert raised["new_country"]["location"] == "JP"
    travel = raised["impossible_travel"]
    assert travel["location"] == f"{IP_A}>{IP_B}"
    # London-Tokyo is about 9560 km; minus the radii (200 + 50 km).
    assert 9200 < travel["details"]["distance_km"] < 9400
    assert travel["details"]["previous"]["country"] == "GB"
    assert "from a new country: 175.16.199.10 (Tokyo, JP)" in result.stderr
    assert "faster than anyone can travel" in result.stderr
    history = cli.ok("auth", "history", "--user", USER, "-o", "json").json()
    assert [(h["country"], h["city"]) for h in history] == [("JP", "Tokyo"), ("GB", "London")]


def test_nearby_within_the_accuracy_radius_is_not_impossible_travel(
    cli: Cli, db_url: str, echo: Echo, tmp_path: Path
) -> None:
    # London -> Manchester (~260 km) seconds apart, but each is only known within 200 km.
    _login_twice(cli, echo, write_geoip(tmp_path / "city.mmdb"), IP_MANCHESTER)
    assert [(a["kind"], a["location"]) for a in alerts(db_url)] == [("new_ip", IP_MANCHESTER)]


@pytest.mark.parametrize("problem", ["missing", "corrupt", "wrong type"])
def test_bad_geoip_file_warns_once_and_falls_back_to_ip_only(
    cli: Cli, db_url: str, echo: Echo, tmp_path: Path, problem: str
) -> None:
    path = tmp_path / "geo.mmdb"
    if problem == "corrupt":
        path.write_bytes(b"this is not a MaxMind database\n" * 100)
    elif problem == "wrong type":
        write_geoip(path, database_type="GeoLite2-ASN")
    expected = {
        "missing": "does not exist",
        "corrupt": "is not a valid .mmdb file",
        "wrong type": "is of type 'GeoLite2-ASN', not a City or Country database",
    }[problem]
    second = _login_twice(cli, echo, path, IP_C)
    warning = (
        f"warning: GeoIP database {path} {expected}; security alerts compare IP addresses only"
    )
    assert second.stderr.count(warning) == 1, second.stderr
    assert all(e["country"] is None for e in events(db_url, USER))
    assert [(a["kind"], a["location"]) for a in alerts(db_url)] == [("new_ip", IP_C)]


def test_doctor_checks_the_ip_lookup_and_the_geoip_file(
    sqlite_cli: Cli, echo: Echo, tmp_path: Path
) -> None:
    geoip = write_geoip(tmp_path / "city.mmdb")
    good = {"ASSETCTL_PUBLIC_IP_URLS": echo.set("/a", IP_A), "ASSETCTL_GEOIP_DB": str(geoip)}
    lines = sqlite_cli.ok("doctor", env=good).stdout.splitlines()
    assert any(line.startswith("ok   ip lookup") and IP_A in line for line in lines)
    assert any(line.startswith("ok   geoip") and "city database" in line for line in lines)
    corrupt = tmp_path / "bad.mmdb"
    corrupt.write_bytes(b"garbage" * 50)
    bad = {"ASSETCTL_PUBLIC_IP_URLS": echo.url("/html"), "ASSETCTL_GEOIP_DB": str(corrupt)}
    result = sqlite_cli("doctor", env=bad)
    assert result.exit_code == 7
    lines = result.stdout.splitlines()
    assert any(line.startswith("FAIL ip lookup") and "not an IP address" in line for line in lines)
    assert any(line.startswith("FAIL geoip") and "not a valid .mmdb" in line for line in lines)
