"""`assetctl init`: create the config directory (with a commented starter file) and the
migrated database. Safe to run again: nothing existing is overwritten."""

from __future__ import annotations

from dataclasses import dataclass

from assetctl.config import Settings, config_template


@dataclass(frozen=True)
class InitResult:
    config_created: bool
    revision_before: str | None
    revision_after: str


def initialise(settings: Settings) -> InitResult:
    """Create what is missing; report what was there and what was made."""
    from assetctl.db.migrate import upgrade

    path = settings.config_path
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_template(), encoding="utf-8")
        created = True
    before, after = upgrade(settings.database_url, settings.values.get("db_role_prefix"))
    return InitResult(created, before, after)
