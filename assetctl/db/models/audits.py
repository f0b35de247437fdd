"""Physical audits: sessions, the assets they expect and find, and every scan, as ORM
classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assetctl.db import audit_tables
from assetctl.db.models import Model, mapper_registry

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Mapped


class AuditSession(Model):
    """One physical audit of a location (optionally one category of assets)."""

    id: Mapped[int]
    location: Mapped[str]
    category: Mapped[str | None]
    status: Mapped[str]
    started_at: Mapped[datetime]
    started_by: Mapped[str]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None]
    outcome: Mapped[dict[str, Any] | None]


class AuditExpected(Model):
    """An asset an audit expects to find: the snapshot taken when it started."""

    session_id: Mapped[int]
    asset_id: Mapped[int]


class AuditFound(Model):
    """An asset an audit found (expected there or not): its first scan's time and person."""

    session_id: Mapped[int]
    asset_id: Mapped[int]
    found_at: Mapped[datetime]
    found_by: Mapped[str]


class AuditScan(Model):
    """One scanned code, as typed by the scanner: the append-only log of an audit."""

    id: Mapped[int]
    session_id: Mapped[int]
    code: Mapped[str]
    asset_id: Mapped[int | None]
    result: Mapped[str]
    scanned_at: Mapped[datetime]
    scanned_by: Mapped[str]
    db_user: Mapped[str | None]


mapper_registry.map_imperatively(AuditSession, audit_tables.audit_sessions)
mapper_registry.map_imperatively(AuditExpected, audit_tables.audit_expected)
mapper_registry.map_imperatively(AuditFound, audit_tables.audit_found)
mapper_registry.map_imperatively(AuditScan, audit_tables.audit_scans)
