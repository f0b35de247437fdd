"""Who and what a write is, told to PostgreSQL's history trigger (see history_trigger).

On PostgreSQL the database writes asset history itself; the CLI only announces the app
actor and action for the current transaction (`SET LOCAL`), so its history stays as rich as
before. On SQLite the Python code writes history as it always did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assetctl.db.history_trigger import ACTION_SETTING, ACTOR_SETTING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def database_writes_history(session: Session) -> bool:
    """True where the history trigger writes asset events (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"


def announce(session: Session, action: str, actor: str) -> None:
    """Name the actor and action of the asset writes that follow in this transaction."""
    if not database_writes_history(session):
        return
    from sqlalchemy import text

    # Before the pending change is flushed: its statement fires the trigger.
    with session.no_autoflush:
        session.execute(
            text("SELECT set_config(:k1, :actor, true), set_config(:k2, :action, true)"),
            {"k1": ACTOR_SETTING, "actor": actor, "k2": ACTION_SETTING, "action": action},
        )
