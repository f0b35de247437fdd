"""Writes to login events, alerts and deliveries: on PostgreSQL through the owner's
SECURITY DEFINER functions (these tables are append-only for every client role, and a
client may only record its own logins), on SQLite through the ORM.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from assetctl.core.auth.store import call, insert_row, on_postgres

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import AlertDelivery, LoginEvent, SecurityAlert


def add_login_event(session: Session, event: LoginEvent) -> LoginEvent:
    """SQLite: store `event`. On PostgreSQL the database writes every login event itself
    (`assetctl_login_attempt`) and the client only adds its facts to it."""
    session.add(event)
    session.flush()
    return event


def add_alert(session: Session, alert: SecurityAlert) -> SecurityAlert:
    return insert_row(
        session,
        alert,
        "assetctl_raise_alert",
        alert.login_event_id,
        alert.kind,
        alert.severity,
        alert.location,
        json.dumps(alert.details),
    )


def add_delivery(session: Session, delivery: AlertDelivery) -> AlertDelivery:
    return insert_row(
        session,
        delivery,
        "assetctl_queue_delivery",
        delivery.alert_id,
        delivery.channel,
        delivery.created_at,
        delivery.next_attempt_at,
    )


def claim_delivery(session: Session, delivery: AlertDelivery, until: datetime) -> bool:
    """Move a pending delivery's next attempt to `until` if nobody else did since it was
    read (a conditional UPDATE only one process can win)."""
    if on_postgres(session):
        return bool(
            call(session, "assetctl_claim_delivery", delivery.id, delivery.next_attempt_at, until)
        )
    from sqlalchemy import update

    from assetctl.db.models import AlertDelivery

    result = session.execute(
        update(AlertDelivery)
        .where(
            AlertDelivery.id == delivery.id,
            AlertDelivery.status == "pending",
            AlertDelivery.next_attempt_at == delivery.next_attempt_at,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def delivery_outcome(
    session: Session, delivery: AlertDelivery, error: str | None, now: datetime, retry_at: datetime
) -> None:
    """One more attempt: delivered, or pending again from `retry_at` with its error."""
    if on_postgres(session):
        call(session, "assetctl_delivery_outcome", delivery.id, error, now, retry_at)
        session.refresh(delivery)
        return
    delivery.attempts += 1
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
    else:
        delivery.last_error = error[:500]
        delivery.next_attempt_at = retry_at


def ack_alert(session: Session, alert: SecurityAlert, by: str, now: datetime) -> None:
    if on_postgres(session):
        call(session, "assetctl_ack_alert", alert.id, by, now)
        session.refresh(alert)
        return
    if alert.acked_at is None:
        alert.acked_at = now
        alert.acked_by = by
