"""Which pending alert deliveries are due for a retry, and which of them this login may
deliver. Checked in every command's transaction (`AppState.transaction`), so this module
imports nothing else of ours; sending them is `notify`'s job, imported only when one is due.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.orm import Session

Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")
# The after-every-command retry: at most this many deliveries.
RETRY_BATCH = 3


def deliverable(session: Session, query: Q) -> Q:
    """PostgreSQL: only deliveries this login may close. Row-level security shows a viewer
    or operator its own user's alerts alone, and the database refuses to let a session of
    the user an alert is about claim or close its deliveries (an intruder holding the
    password must not cancel the alert), so those are left to an admin's client or the
    cron job. SQLite has one user, who delivers everything."""
    if session.get_bind().dialect.name != "postgresql":
        return query
    from sqlalchemy import func, select

    from assetctl.db.tables import alert_deliveries, security_alerts

    # Tables, as in due_deliveries: no mapper set-up after every command.
    alerts = security_alerts.c
    others = select(alerts.id).where(
        alerts.user_id.is_distinct_from(func.assetctl_caller_user_id())
    )
    return query.where(func.assetctl_is_admin(), alert_deliveries.c.alert_id.in_(others))


def due_deliveries(session: Session, limit: int = RETRY_BATCH) -> list[int]:
    """Ids of pending deliveries whose retry time has passed and this login may deliver:
    one indexed range scan. On PostgreSQL inside a savepoint, so that even a failure here
    cannot spoil the caller's transaction. Never raises."""
    from sqlalchemy import select

    from assetctl.db.tables import alert_deliveries

    # The table, not the mapped class: this runs after every command, and an ORM class
    # would have to be mapped (and its mapper configured) in a command that needs none.
    cols = alert_deliveries.c
    query = deliverable(
        session,
        select(cols.id)
        .where(cols.status == "pending", cols.next_attempt_at <= datetime.now(UTC))
        .order_by(cols.next_attempt_at)
        .limit(limit),
    )
    try:
        if session.get_bind().dialect.name == "postgresql":
            with session.begin_nested():
                return list(session.execute(query).scalars())
        return list(session.execute(query).scalars())
    except Exception:  # noqa: BLE001 - a retry check must never fail the command
        return []
