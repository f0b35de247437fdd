"""Delivery of security alerts through their channels, with retries that never lose one.

An alert's deliveries (log always; webhook and email when configured) are written as
`pending` in the login's own transaction. After the commit they are sent; a failure leaves
the row pending with a backoff, and the next command that runs (`retry_due`, called after
every successful transaction) or `assetctl alerts deliver` tries again.

Sending happens outside any transaction so no database lock is held during network I/O: a
delivery is first *claimed* (its next attempt time moved past a lease, by a conditional
UPDATE that only one process can win), then sent, then its outcome is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from assetctl.config import Settings
from assetctl.core.security.due import RETRY_BATCH, deliverable
from assetctl.json_values import rfc3339

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import AlertDelivery, SecurityAlert

# A new delivery is left to the login that created it for this long before any other
# command may retry it (on PostgreSQL only when that login may deliver it at all: one bound
# to the alert's own user may not, and its deliveries are due at once); the same lease
# protects a claimed delivery while it is being sent. The database caps both this lease and
# the backoff (assetctl.db.pg_functions).
LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(hours=1)
# The after-every-command retry (core/security/due.py): at most RETRY_BATCH, with at most
# this timeout each.
RETRY_TIMEOUT_S = 1.0


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    pending: int = 0

    def record(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "pending": self.pending,
            "errors": self.errors,
        }


def _now() -> datetime:
    return datetime.now(UTC)


def queue(
    session: Session, settings: Settings, alerts: Sequence[SecurityAlert]
) -> list[AlertDelivery]:
    """Pending deliveries for `alerts`, one per channel the database's policy configures,
    in the caller's transaction."""
    from assetctl.core.security.policy import configured_channels
    from assetctl.db.models import AlertDelivery

    del settings  # the channels are the database's, never the caller's
    channels = configured_channels(session)
    now = _now()
    rows = [
        AlertDelivery(
            alert_id=alert.id,
            channel=channel,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now + LEASE,
        )
        for alert in alerts
        for channel in channels
    ]
    from assetctl.core.security.store import add_delivery

    return [add_delivery(session, row) for row in rows]


def alert_payload(alert: SecurityAlert, email: str) -> dict[str, Any]:
    """What every channel says about an alert (no secrets: no token, hash or password)."""
    return {
        "event": "security.login_alert",
        "alert_id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "user": email,
        "location": alert.location,
        "at": rfc3339(alert.at),
        "details": alert.details,
    }


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claim(
    settings: Settings, ids: Sequence[int] | None, limit: int
) -> tuple[Settings, list[tuple[int, str, dict[str, Any]]]]:
    """Claim pending deliveries (the given ids, or every pending one up to `limit`) and
    return the settings with the database's alert channels, and (delivery id, channel,
    payload) for each one this process won."""
    from sqlalchemy import select

    from assetctl.core.security.policy import with_channels
    from assetctl.core.security.store import claim_delivery
    from assetctl.db.engine import unit_of_work
    from assetctl.db.models import AlertDelivery, SecurityAlert, User

    now = _now()
    claimed: list[tuple[int, str, dict[str, Any]]] = []
    with unit_of_work(settings.database_url, write=True) as session:
        settings = with_channels(session, settings)
        query = (
            select(AlertDelivery, SecurityAlert, User.email)
            .join(SecurityAlert, SecurityAlert.id == AlertDelivery.alert_id)
            .join(User, User.id == SecurityAlert.user_id)
            .where(AlertDelivery.status == "pending")
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
            .limit(limit)
        )
        query = deliverable(session, query)
        if ids is not None:
            query = query.where(AlertDelivery.id.in_(list(ids)))
        for delivery, alert, email in session.execute(query).all():
            if claim_delivery(session, delivery, now + LEASE):
                claimed.append((delivery.id, delivery.channel, alert_payload(alert, email)))
    return settings, claimed


def _send(settings: Settings, channel: str, payload: dict[str, Any], timeout: float) -> None:
    from assetctl.core.security import channels as alert_channels

    if channel == "log":
        alert_channels.send_log(payload)
    elif channel == "webhook":
        alert_channels.send_webhook(str(settings.values["alert_webhook_url"]), payload, timeout)
    elif channel == "email":
        alert_channels.send_email(settings, payload, timeout)
    else:  # pragma: no cover - the CHECK constraint allows no other channel
        raise alert_channels.ChannelError(f"unknown channel {channel}")


def _channel_configured(settings: Settings, channel: str) -> bool:
    from assetctl.core.security.policy import enabled_channels

    return channel in enabled_channels(settings.values)


def deliver(
    settings: Settings,
    ids: Sequence[int] | None = None,
    *,
    limit: int = 100,
    timeout: float | None = None,
) -> DeliveryReport:
    """Send pending deliveries (the given ids, or all pending up to `limit`) and record the
    outcome of each. Failures are reported, never raised."""
    from sqlalchemy import func, select

    from assetctl.core.security.channels import ChannelError
    from assetctl.core.security.store import delivery_outcome
    from assetctl.db.engine import unit_of_work
    from assetctl.db.models import AlertDelivery

    timeout = float(settings.values["alert_timeout"]) if timeout is None else timeout
    report = DeliveryReport()
    outcomes: list[tuple[int, str | None]] = []
    # A channel that just failed is not tried again in this run: one dead mail server must
    # cost one timeout, not one per pending alert.
    broken: dict[str, str] = {}
    settings, claimed = _claim(settings, ids, limit)
    for delivery_id, channel, payload in claimed:
        if channel in broken:
            outcomes.append((delivery_id, broken[channel]))
            continue
        try:
            if not _channel_configured(settings, channel):
                raise ChannelError(f"{channel} is not configured for this command")
            _send(settings, channel, payload, timeout)
        except ChannelError as exc:
            broken[channel] = str(exc)
            outcomes.append((delivery_id, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a notification never breaks a command
            broken[channel] = f"{channel}: {type(exc).__name__}"
            outcomes.append((delivery_id, broken[channel]))
        else:
            outcomes.append((delivery_id, None))
    now = _now()
    with unit_of_work(settings.database_url, write=True) as session:
        for delivery_id, error in outcomes:
            row = session.get(AlertDelivery, delivery_id)
            if row is None:
                continue
            delivery_outcome(session, row, error, now, now + _backoff(row.attempts + 1))
            if error is None:
                report.delivered += 1
            else:
                report.failed += 1
                report.errors.append(error)
        report.pending = session.execute(
            select(func.count()).select_from(AlertDelivery).where(AlertDelivery.status == "pending")
        ).scalar_one()
    return report


def retry_due(settings: Settings, ids: Sequence[int]) -> None:
    """The after-every-command retry of a few due deliveries, with short timeouts; it never
    raises and never slows a command by more than RETRY_BATCH short attempts."""
    try:
        timeout = min(float(settings.values["alert_timeout"]), RETRY_TIMEOUT_S)
        deliver(settings, ids, limit=RETRY_BATCH, timeout=timeout)
    except Exception:  # deliberately silent: the delivery stays pending
        import logging

        logging.getLogger("assetctl.security").debug("alert delivery retry failed", exc_info=True)
