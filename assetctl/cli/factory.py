"""The lazily built dependencies of one command (after gh's `Factory`): settings, the Redis
cache and the token store. Nothing is built until a command asks, so `--help` never reads
the config file, and a command that needs no cache never imports redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assetctl.cli.iostreams import IOStreams

if TYPE_CHECKING:
    from assetctl.cache import Cache
    from assetctl.config import Settings
    from assetctl.credentials import TokenStore


@dataclass
class Factory:
    env: Mapping[str, str]
    io: IOStreams
    profile: str | None = None
    no_cache: bool = False
    _settings: Settings | None = None
    _cache: Cache | None = None
    _cache_off: bool = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from assetctl.config import load_settings

            self._settings = load_settings(self.env, profile=self.profile)
        return self._settings

    def token_store(self) -> TokenStore:
        from assetctl.credentials import TokenStore

        return TokenStore(self.env, self.settings)

    def cache(self) -> Cache | None:
        """The Redis cache for this command, or None (not configured, --no-cache, or Redis
        failed earlier in this command)."""
        if self._cache_off or self.no_cache:
            return None
        redis_url = self.settings.values.get("redis_url")
        if not redis_url:
            return None
        if self._cache is None:
            from assetctl.cache import Cache

            ttl = int(self.settings.values["cache_ttl"])
            self._cache = Cache(str(redis_url), self.settings.database_url, ttl)
        return self._cache

    def cache_failed(self, problem: Exception) -> None:
        """Stop using Redis for the rest of this command, with one warning."""
        if not self._cache_off:
            self._cache_off = True
            self.io.warn(f"{problem}; answering from the database")
