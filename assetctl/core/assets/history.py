"""Asset history: one event per change (who, when, what, each field's old -> new value),
in the same transaction as the change.

On PostgreSQL the database writes history itself (`db/history_trigger.py`): the functions
here then only announce actor and action, and `record_event`/`insert_events` write nothing.
On SQLite they write the rows. Values are kept in the codec's lossless form (`wire`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.assets.schema import BY_NAME, Kind
from assetctl.json_values import cents_to_decimal, wire

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import Asset


def history_value(field: str, stored: Any) -> Any:
    """History values are stored as JSON in the codec's lossless form (cost "1299.50")."""
    if BY_NAME[field].kind is Kind.MONEY:
        return wire(cents_to_decimal(stored))
    return wire(stored)


_DEFERRED_EVENTS = "assetctl.deferred_events"


def record_event(
    session: Session, asset: Asset, action: str, actor: str, changes: dict[str, Any], at: datetime
) -> None:
    from assetctl.db.audit import database_writes_history

    if database_writes_history(session):
        return  # PostgreSQL's trigger wrote it (see assetctl.db.history_trigger)
    event = {"asset_id": asset.id, "action": action, "actor": actor, "at": at, "changes": changes}
    deferred = session.info.get(_DEFERRED_EVENTS)
    if deferred is not None:
        deferred.append(event)
        return
    from assetctl.db.models import AssetEvent

    session.add(AssetEvent(**event))


def insert_events(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """History rows in one multi-row INSERT (through the table: the ORM's bulk path costs
    ~50 us more per row). None on PostgreSQL, whose trigger writes history."""
    from assetctl.db.audit import database_writes_history

    if not events or database_writes_history(session):
        return
    from sqlalchemy import insert

    from assetctl.db.tables import asset_events

    session.execute(insert(asset_events), list(events))


@contextmanager
def deferred_history(session: Session) -> Iterator[list[dict[str, Any]]]:
    """For batches: the history events of the changes made inside the block are collected
    and written with one multi-row INSERT when it ends without an error, instead of one
    INSERT per change. A caller dropping an item's change deletes its events from the list."""
    events: list[dict[str, Any]] = []
    session.info[_DEFERRED_EVENTS] = events
    try:
        yield events
    finally:
        del session.info[_DEFERRED_EVENTS]
    insert_events(session, events)
