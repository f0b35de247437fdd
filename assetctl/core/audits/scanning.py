"""Recording scanned codes into an open audit.

Several people may scan into one audit at once, from different machines: every scan is
appended to `audit_scans` (who, when, what was typed, what it named), and an asset enters
`audit_found` once per audit, through `INSERT ... ON CONFLICT DO NOTHING` on its primary key
(session, asset). So two scanners racing on the same asset both log their scan, one of them
finds it and the other sees `again`; no scan is lost and none is counted twice. The audit row
is share-locked while codes are recorded, so `audit close` waits for scans in flight and a
scan after the close is refused (exit 6).

A code names, in this order: the live asset with that tag; the live asset with that serial;
for an http(s) URL, the live asset tagged as the `{tag}` part of the label URL template, or
as the URL's last path segment. Anything else is logged as `unknown`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.audits.codes import Rejected, check_code, tags_in_url
from assetctl.core.audits.sessions import check_open, find_session, session_record
from assetctl.core.auth.permissions import Permission, Principal, require

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SCAN_FIELDS = ("code", "result", "tag", "name", "location", "reason")
# SQLite accepts 32766 bound values per statement; PostgreSQL 65535.
_CHUNK = 500


@dataclass
class ScanBatch:
    """What one call recorded: a row per code (SCAN_FIELDS) and the audit after it."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(1 for row in self.rows if row["result"] == "rejected")


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _live_by(session: Session, column: str, values: Iterable[str]) -> dict[str, Any]:
    """Live assets whose `column` is one of `values`, keyed by that value."""
    from sqlalchemy import select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    wanted = sorted(set(values))
    found: dict[str, Any] = {}
    for chunk in _chunks(wanted):
        stmt = select(cols.id, cols.tag, cols.name, cols.location, cols[column]).where(
            cols[column].in_(chunk), cols.deleted_at.is_(None)
        )
        for row in session.execute(stmt).mappings():
            found[row[column]] = row
    return found


def resolve_codes(
    session: Session, codes: Sequence[str], url_template: str | None
) -> dict[str, Any]:
    """code -> the live asset row (id, tag, name, location) it names, for those that name
    one: by tag, else serial, else (a URL) by the tag it carries."""
    urls = {code: tags_in_url(code, url_template) for code in codes}
    by_tag = _live_by(session, "tag", [*codes, *(t for tags in urls.values() for t in tags)])
    by_serial = _live_by(session, "serial", [c for c in codes if c not in by_tag])
    named: dict[str, Any] = {}
    for code in codes:
        candidates = [by_tag.get(code), by_serial.get(code), *map(by_tag.get, urls[code])]
        row = next((c for c in candidates if c is not None), None)
        if row is not None:
            named[code] = row
    return named


def _insert(session: Session, table: Any) -> Any:
    """INSERT with the dialect's ON CONFLICT support (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _claim(session: Session, audit_id: int, asset_ids: list[int], actor: str) -> set[int]:
    """Enter the assets into the audit's found set; returns those this call entered (an
    asset another scanner entered first, even a moment ago in another transaction, is not
    among them)."""
    from assetctl.db.audit_tables import audit_found as table

    now = datetime.now(UTC)
    claimed: set[int] = set()
    for chunk in _chunks(asset_ids):
        rows = [
            {"session_id": audit_id, "asset_id": i, "found_at": now, "found_by": actor}
            for i in chunk
        ]
        stmt = (
            _insert(session, table)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["session_id", "asset_id"])
            .returning(table.c.asset_id)
        )
        claimed.update(int(i) for i in session.execute(stmt).scalars())
    return claimed


def _expected(session: Session, audit_id: int, asset_ids: list[int]) -> set[int]:
    from sqlalchemy import select

    from assetctl.db.models import AuditExpected

    found: set[int] = set()
    for chunk in _chunks(asset_ids):
        stmt = select(AuditExpected.asset_id).where(
            AuditExpected.session_id == audit_id, AuditExpected.asset_id.in_(chunk)
        )
        found.update(int(i) for i in session.execute(stmt).scalars())
    return found


def scan_codes(
    session: Session,
    caller: Principal,
    audit_id: int,
    lines: Sequence[str],
    url_template: str | None = None,
) -> ScanBatch:
    """Record scanned lines (one code each) in the open audit `audit_id`: exit 3 if there
    is no such audit, 6 if it is closed. A blank line, or one with control or invisible
    characters, is returned as `rejected` with its reason and not stored; the others are
    logged and each named asset is entered into the found set once."""
    require(caller, Permission.WRITE)
    from sqlalchemy import insert

    from assetctl.db.audit_tables import audit_scans

    audit = find_session(session, audit_id, lock="share")
    check_open(audit)
    checked = [check_code(line) for line in lines]
    codes = [c for c in checked if isinstance(c, str)]
    named = resolve_codes(session, codes, url_template)
    # In id order: two scanners entering overlapping assets in their scan orders each
    # waited on the other's uncommitted row (deadlock, 40P01); one order for all, no cycle.
    ids = sorted({int(named[c]["id"]) for c in codes if c in named})
    claimed = _claim(session, audit_id, ids, caller.email)
    expected = _expected(session, audit_id, sorted(claimed))
    batch, scans, now = ScanBatch(), [], datetime.now(UTC)
    for item in checked:
        if isinstance(item, Rejected):
            batch.rows.append({"code": item.code, "result": "rejected", "tag": None,
                               "name": None, "location": None, "reason": item.reason})  # fmt: skip
            continue
        asset = named.get(item)
        asset_id = None if asset is None else int(asset["id"])
        if asset_id is None:
            result = "unknown"
        elif asset_id in claimed:
            claimed.discard(asset_id)  # a second scan of it in this batch is `again`
            result = "found" if asset_id in expected else "unexpected"
        else:
            result = "again"
        scans.append({"session_id": audit_id, "code": item, "asset_id": asset_id,
                      "result": result, "scanned_at": now, "scanned_by": caller.email})  # fmt: skip
        batch.rows.append({"code": item, "result": result,
                           "tag": None if asset is None else asset["tag"],
                           "name": None if asset is None else asset["name"],
                           "location": None if asset is None else asset["location"],
                           "reason": None})  # fmt: skip
    for chunk in _chunks(scans):
        session.execute(insert(audit_scans), list(chunk))
    batch.audit = session_record(session, audit)
    return batch
