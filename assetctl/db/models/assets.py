"""Assets and their history events, as ORM classes (the commands that write an asset)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assetctl.db import tables
from assetctl.db.models import Model, mapper_registry

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Mapped


class Asset(Model):
    """An asset. Its columns come from the field catalogue (`core/assets/schema.py`), so
    they are attributes of the same names (`purchase_cost_cents` for the cost)."""

    if TYPE_CHECKING:
        # The column attributes are made by the mapper from the catalogue at import time.
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...


class AssetEvent(Model):
    """One change to one asset: who, when, what, and each field's old -> new value."""

    id: Mapped[int]
    asset_id: Mapped[int]
    action: Mapped[str]
    actor: Mapped[str]
    at: Mapped[datetime]
    changes: Mapped[dict[str, Any]]
    db_user: Mapped[str | None]
    xact: Mapped[int | None]


# The ORM adds `AND version = :old` to every UPDATE of an asset: of two writers that read the
# same version, exactly one succeeds and the other gets StaleDataError (exit 6).
mapper_registry.map_imperatively(
    Asset, tables.assets_table, version_id_col=tables.assets_table.c.version
)
mapper_registry.map_imperatively(AssetEvent, tables.asset_events)
