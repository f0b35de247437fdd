"""Issue 18, "exit 1 where the user made the mistake" and "ambiguity and parsing": input a
careless or hostile user can type is refused with exit 2 (or 7 where a service is at fault),
one clear sentence, and nothing written."""

from __future__ import annotations

import base64

import pytest

from .conftest import Cli, add_args
from .test_bad_input import assert_refused


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    cli.ok(*add_args("LAP-1", serial="SER-1", purchase_cost="10.00"))
    cli.ok(*add_args("LAP-2", serial="SER-2", purchase_cost="20.00"))
    return cli


@pytest.fixture
def seeded_sqlite(sqlite_cli: Cli) -> Cli:
    """For input refused before any SQL runs, where the database makes no difference."""
    sqlite_cli.ok(*add_args("LAP-1", serial="SER-1"))
    sqlite_cli.ok(*add_args("LAP-2", serial="SER-2"))
    return sqlite_cli


# --- cursors: the checksum is public, so the content is checked ----------------------------


def forge_cursor(payload_json: str) -> str:
    """A cursor with any JSON payload and a correct checksum, as anyone can make one."""
    from assetctl.core.assets.listing import _checksum

    body = base64.urlsafe_b64encode(payload_json.encode()).rstrip(b"=")
    return body.decode() + "." + _checksum(body)


def _payload(sort: str, key_json: str, fingerprint: str) -> str:
    return f'{{"v":1,"s":"{sort}","f":"{fingerprint}","k":[{key_json},1]}}'


def test_forged_cursor_contents_are_refused(seeded: Cli) -> None:
    from assetctl.core.assets.listing import Filters

    fingerprint = Filters().fingerprint()
    cases = [
        ("tag", '"\\ud800"'),  # a lone surrogate: no database can store it
        ("name", '"a\\udfffb"'),
        ("created_at", '"2026-01-01T00:00:00-23:59"'),  # PostgreSQL refuses the offset
        ("created_at", '"2026-01-01T00:00:00+05:00"'),  # wire() only ever writes UTC
        ("updated_at", '"0001-01-01T00:00:00+00:00x"'),
        ("purchase_date", '"2026-02-30"'),
        ("tag", "[" * 100_000 + "]" * 100_000),  # nested 100,000 deep
    ]
    for sort, key_json in cases:
        cursor = forge_cursor(_payload(sort, key_json, fingerprint))
        line = assert_refused(
            seeded, 2, ["asset", "list", "--sort", sort, "--cursor", cursor], "--cursor"
        )
        assert "edited" in line
    deep = forge_cursor("[" * 100_000 + "]" * 100_000)
    assert_refused(seeded, 2, ["asset", "list", "--cursor", deep], "--cursor")
    # A real UTC timestamp cursor still works.
    page = seeded.ok("asset", "list", "--sort", "created_at", "--limit", "1", "-o", "json")
    cursor = page.json()["next_cursor"]
    seeded.ok("asset", "list", "--sort", "created_at", "--cursor", cursor)
