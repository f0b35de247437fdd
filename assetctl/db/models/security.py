"""Login events, security alerts, their deliveries and the security policy, as ORM
classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assetctl.db import account_tables, tables
from assetctl.db.models import Model, mapper_registry

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Mapped


class LoginEvent(Model):
    """One login attempt, successful or not: who, when (database clock), from where."""

    id: Mapped[int]
    user_id: Mapped[int | None]
    email: Mapped[str]
    success: Mapped[bool]
    at: Mapped[datetime]
    ip: Mapped[str | None]
    ip_source: Mapped[str]
    public_ips: Mapped[list[dict[str, str]]]
    db_client_addr: Mapped[str | None]
    hostname: Mapped[str | None]
    os_user: Mapped[str | None]
    cli_version: Mapped[str | None]
    jti: Mapped[str | None]
    country: Mapped[str | None]
    city: Mapped[str | None]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    accuracy_radius: Mapped[int | None]
    network: Mapped[str | None]


class SecurityAlert(Model):
    """A login from a location not seen for that user before."""

    id: Mapped[int]
    user_id: Mapped[int]
    login_event_id: Mapped[int | None]
    kind: Mapped[str]
    severity: Mapped[str]
    location: Mapped[str]
    details: Mapped[dict[str, Any]]
    at: Mapped[datetime]
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[str | None]


class AlertDelivery(Model):
    """One notification of one alert through one channel; pending until it succeeds."""

    id: Mapped[int]
    alert_id: Mapped[int]
    channel: Mapped[str]
    status: Mapped[str]
    attempts: Mapped[int]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class SecurityPolicy(Model):
    """One security policy value set by an admin (`assetctl policy set`)."""

    key: Mapped[str]
    value: Mapped[str]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None]


mapper_registry.map_imperatively(LoginEvent, account_tables.login_events)
mapper_registry.map_imperatively(SecurityAlert, tables.security_alerts)
mapper_registry.map_imperatively(AlertDelivery, tables.alert_deliveries)
mapper_registry.map_imperatively(SecurityPolicy, account_tables.security_policy)
