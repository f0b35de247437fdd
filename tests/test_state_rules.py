"""One table of status/assignee cases, and every path that must follow the rulebook
(`core/assets/rules.py`): `asset add`, the import (its staging path; on PostgreSQL also the
COPY fast path, which must fall back and report the same), and the database's own CHECK
constraints against a plain SQL insert. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from assetctl.core.assets import rules

from .asset_fixtures import ASSETS, connect, snapshot
from .conftest import Cli, add_args

# (status, assignee) -> the rule it breaks (None: allowed), with that rule's exit code.
CASES: list[tuple[str, str | None, str | None]] = [
    ("in_stock", None, None),
    ("assigned", "ann@example.com", None),
    ("in_repair", None, None),
    ("retired", None, None),
    ("lost", None, None),
    ("assigned", None, "needs_assignee"),
    ("retired", "ann@example.com", "unassignable"),
    ("lost", "ann@example.com", "unassignable"),
    ("in_stock", "ann@example.com", "assignee_needs_assigned"),
    ("in_repair", "ann@example.com", "assignee_needs_assigned"),
]
IDS = [f"{status}-{'with' if who else 'without'}-assignee" for status, who, _ in CASES]


def _exit_code(code: str | None) -> int:
    if code is None:
        return 0
    return 6 if rules.BY_CODE[code].conflict else 2


def _message(code: str, status: str, assignee: str | None) -> str:
    return rules.BY_CODE[code].message.format(status=status, assignee=assignee)


def test_the_table_covers_every_rule() -> None:
    assert {code for _, _, code in CASES if code} == set(rules.BY_CODE)
    for status, assignee, code in CASES:
        broken = rules.violation(status, assignee)
        assert (broken.code if broken else None) == code


@pytest.mark.parametrize(("status", "assignee", "code"), CASES, ids=IDS)
def test_asset_add(
    cli: Cli, db_url: str, status: str, assignee: str | None, code: str | None
) -> None:
    extra = {"status": status, **({"assignee": assignee} if assignee else {})}
    before = snapshot(db_url)
    result = cli("asset", "add", *add_args("R-1", **extra)[2:], "-o", "json")
    assert result.exit_code == _exit_code(code), result.stderr
    if code is None:
        assert result.json()["status"] == status
    else:
        assert _message(code, status, assignee) in result.stderr
        assert snapshot(db_url) == before


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
@pytest.mark.parametrize(("status", "assignee", "code"), CASES, ids=IDS)
def test_import(
    cli: Cli,
    db_url: str,
    tmp_path: Path,
    status: str,
    assignee: str | None,
    code: str | None,
    dry_run: bool,
) -> None:
    """A plain import takes the fast path on PostgreSQL (and falls back at a broken rule);
    --dry-run and every SQLite import take the staging path."""
    path = tmp_path / "rows.csv"
    path.write_text(
        "tag,name,category,status,assignee\n"
        "OK-1,Fine,laptop,in_stock,\n"
        f"R-1,Device,laptop,{status},{assignee or ''}\n"
    )
    before = snapshot(db_url)
    result = cli("asset", "import", str(path), *(["--dry-run"] if dry_run else []))
    assert result.exit_code == _exit_code(code), result.stderr
    if code is not None:
        rule = rules.BY_CODE[code]
        bad = status if rule.field == "status" else assignee
        assert f"line 3, column {rule.field}, value {bad!r}" in result.stderr
        assert _message(code, status, assignee) in result.stderr
    if code is not None or dry_run:
        assert snapshot(db_url) == before
    else:
        rows = cli.ok("asset", "list", "--all", "-o", "json").json()["items"]
        assert {(r["tag"], r["status"], r["assignee"]) for r in rows} == {
            ("OK-1", "in_stock", None),
            ("R-1", status, assignee),
        }


@pytest.mark.parametrize(("status", "assignee", "code"), CASES, ids=IDS)
def test_database_constraint(
    db_url: str, status: str, assignee: str | None, code: str | None
) -> None:
    """Plain SQL, past every check of ours: the database itself refuses a broken rule."""
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "tag": "SQL-1", "name": "Direct", "category": "laptop", "status": status,
        "assignee": assignee, "version": 1, "created_at": now, "updated_at": now,
        "created_by": "sql", "updated_by": "sql",
    }  # fmt: skip
    if code is None:
        with connect(db_url) as conn:
            conn.execute(ASSETS.insert().values(**row))
        return
    with pytest.raises(IntegrityError, match="assignment"), connect(db_url) as conn:
        conn.execute(ASSETS.insert().values(**row))


def test_transitions_have_their_own_commands(cli: Cli) -> None:
    """`update --status` cannot assign nor leave `assigned`; `assign` refuses a status the
    `unassignable` rule names."""
    cli.ok(*add_args("T-1"))
    cli.ok(*add_args("T-2", status="retired"))
    assigning = cli("asset", "update", "T-1", "--status", "assigned")
    assert assigning.exit_code == 2 and "asset assign" in assigning.stderr
    cli.ok("asset", "assign", "T-1", "--to", "bob@example.com")
    leaving = cli("asset", "update", "T-1", "--status", "in_repair")
    assert leaving.exit_code == 6 and "asset unassign T-1" in leaving.stderr
    retired = cli("asset", "assign", "T-2", "--to", "bob@example.com")
    assert retired.exit_code == 6 and "retired and cannot be assigned" in retired.stderr
