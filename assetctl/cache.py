"""Redis cache for asset listings and the session check that guards them.

Keys live under `assetctl:{database id}:` (see `assetctl.db.identity`), so every URL
spelling of one database shares one namespace and a copy of it never does.
Pages are stored under the data generation read *before* the database query; every committed
write bumps the generation *after* commit, so a page computed from data older than a write can
never be found again (invalidation is one INCR). Cached session checks carry the auth
generation, bumped by every logout, role change, disable or password change.

Redis being down, slow, refusing the password or holding garbage never fails a command: the
first problem prints one warning, then the command answers from the database.

Nothing here imports SQLAlchemy: a cache hit must not pay for it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assetctl.config_values import mask_url
from assetctl.core.assets.schema import FIELDS, Kind
from assetctl.db.schema_version import HEAD_REVISION
from assetctl.json_values import unwire, wire

SOCKET_TIMEOUT_S = 0.3
AUTH_TTL_CAP_S = 60
# How long a URL -> database identity answer is trusted before a miss re-checks it; bounds
# the damage when a URL is pointed at another database.
DB_ID_TTL_S = 60
PREFIX = "assetctl"


def token_digest(token: str) -> str:
    return hashlib.sha256(b"assetctl-token:" + token.encode()).hexdigest()


def url_digest(database_url: str) -> str:
    return hashlib.sha256(mask_url(database_url).encode()).hexdigest()[:20]


def key_digest(parts: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


# --- typed JSON for cached records: a hit must render exactly like a miss ----------------

# Field -> kind of every value a cached record holds: asset fields and the session check's
# expiry time. Everything else is stored as JSON already carries it.
_KINDS: dict[str, str] = {
    **{f.name: f.kind for f in FIELDS if f.kind in (Kind.DATE, Kind.TIMESTAMP, Kind.MONEY)},
    "expires_at": Kind.TIMESTAMP,
}


def encode_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: wire(value) for key, value in record.items()}


def decode_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of `encode_record`; raises ValueError/TypeError on anything malformed."""
    return {key: unwire(_KINDS.get(key, ""), value) for key, value in data.items()}


class CacheUnavailable(Exception):
    """Redis could not be used for this command; the message says why (no secrets)."""


@dataclass(frozen=True)
class Snapshot:
    """Generations read before the database query: what a stored entry will be valid for."""

    db_id: str
    data_gen: int
    auth_gen: int


class Cache:
    """One command's view of the cache. Every method either works or raises
    CacheUnavailable; `AppState` turns that into a single warning and stops using Redis."""

    def __init__(self, redis_url: str, database_url: str, ttl: int) -> None:
        self.redis_url = redis_url
        self.database_url = database_url
        self.ttl = ttl
        self._client: Any = None
        # Problems that did not stop the cache (a corrupt entry): reported once by the caller.
        self.problems: list[str] = []

    @property
    def where(self) -> str:
        return mask_url(self.redis_url)

    def _redis(self) -> Any:
        if self._client is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self._client = redis.Redis.from_url(
                self.redis_url,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=SOCKET_TIMEOUT_S,
                retry=Retry(NoBackoff(), 0),
                decode_responses=False,
            )
        return self._client

    def _call(self, fn: Callable[[Any], Any]) -> Any:
        import redis

        try:
            return fn(self._redis())
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(f"Redis at {self.where} is unavailable ({exc})") from None

    # --- keys ---------------------------------------------------------------------------

    def _ns(self, db_id: str) -> str:
        return f"{PREFIX}:{db_id}"

    def _gen_key(self, db_id: str, which: str) -> str:
        return f"{self._ns(db_id)}:gen:{which}"

    def _entry_key(self, snap: Snapshot, kind: str, digest: str) -> str:
        return f"{self._ns(snap.db_id)}:{HEAD_REVISION}:{snap.data_gen}:{kind}:{digest}"

    def _auth_key(self, db_id: str, token: str) -> str:
        return f"{self._ns(db_id)}:auth:{token_digest(token)}"

    def _stat_key(self, db_id: str, which: str) -> str:
        return f"{self._ns(db_id)}:stats:{which}"

    # --- database identity ----------------------------------------------------------------

    def known_db_id(self) -> str | None:
        raw = self._call(lambda r: r.get(f"{PREFIX}:dbid:{url_digest(self.database_url)}"))
        return raw.decode() if isinstance(raw, bytes) and len(raw) == 20 else None

    def remember_db_id(self, db_id: str) -> None:
        key = f"{PREFIX}:dbid:{url_digest(self.database_url)}"
        self._call(lambda r: r.set(key, db_id, ex=DB_ID_TTL_S))

    # --- generations ----------------------------------------------------------------------

    def snapshot(self, db_id: str) -> Snapshot:
        data_key, auth_key = self._gen_key(db_id, "data"), self._gen_key(db_id, "auth")
        data, auth = self._call(lambda r: r.mget(data_key, auth_key))
        return Snapshot(db_id, self._gen(data_key, data), self._gen(auth_key, auth))

    def _gen(self, key: str, raw: Any) -> int:
        if raw is None:
            # A missing counter (first use, or evicted) restarts from the clock, never from a
            # value an old page could have been stored under.
            seed = time.time_ns()
            self._call(lambda r: r.set(key, seed, nx=True))
            raw = self._call(lambda r: r.get(key))
        try:
            return int(raw)
        except (TypeError, ValueError):
            self._call(lambda r: r.set(key, time.time_ns()))
            raise CacheUnavailable(
                "Redis holds a corrupt generation counter; it was reset"
            ) from None

    def bump(self, db_id: str, which: str) -> None:
        """After a commit: make every entry of `which` ("data" or "auth") unreachable."""
        self._call(lambda r: r.incr(self._gen_key(db_id, which)))

    # --- entries --------------------------------------------------------------------------

    def get(self, snap: Snapshot, kind: str, digest: str) -> Any | None:
        """The cached value, None on a miss; raises CacheUnavailable on a corrupt entry
        (after deleting it, so the fresh answer replaces it)."""
        key = self._entry_key(snap, kind, digest)
        raw = self._call(lambda r: r.get(key))
        if raw is None:
            self._count(snap.db_id, "misses")
            return None
        try:
            envelope = json.loads(raw)
            if envelope.get("schema") != HEAD_REVISION or envelope.get("kind") != kind:
                raise ValueError("another schema or kind")
            value = envelope["value"]
        except (ValueError, TypeError, AttributeError, KeyError, UnicodeDecodeError):
            # Never served: dropped, counted as a miss, and replaced by the fresh answer.
            self._call(lambda r: r.delete(key))
            self._count(snap.db_id, "misses")
            self.problems.append("a cached entry could not be read; it was replaced")
            return None
        self._count(snap.db_id, "hits")
        return value

    def put(self, snap: Snapshot, kind: str, digest: str, value: Any) -> None:
        key = self._entry_key(snap, kind, digest)
        payload = json.dumps({"schema": HEAD_REVISION, "kind": kind, "value": value})
        self._call(lambda r: r.set(key, payload, ex=self.ttl))

    def _count(self, db_id: str, which: str) -> None:
        self._call(lambda r: r.incr(self._stat_key(db_id, which)))

    # --- session checks -------------------------------------------------------------------

    def get_principal(self, snap: Snapshot, token: str) -> dict[str, Any] | None:
        raw = self._call(lambda r: r.get(self._auth_key(snap.db_id, token)))
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            principal = decode_record(entry["principal"])
            if entry["auth_gen"] != snap.auth_gen or principal["expires_at"] <= datetime.now(UTC):
                return None
        except (ValueError, TypeError, KeyError, AttributeError):
            self._call(lambda r: r.delete(self._auth_key(snap.db_id, token)))
            self.problems.append("a cached session check could not be read; it was replaced")
            return None
        return principal

    def put_principal(self, snap: Snapshot, token: str, principal: Mapping[str, Any]) -> None:
        expires: datetime = principal["expires_at"]
        ttl = min(AUTH_TTL_CAP_S, int((expires - datetime.now(UTC)).total_seconds()))
        if ttl <= 0:
            return
        entry = {"auth_gen": snap.auth_gen, "principal": encode_record(principal)}
        self._call(lambda r: r.set(self._auth_key(snap.db_id, token), json.dumps(entry), ex=ttl))

    # --- administration -------------------------------------------------------------------

    def stats(self, db_id: str) -> dict[str, Any]:
        """Hits, misses, keys and memory of this database's namespace."""

        def collect(r: Any) -> dict[str, Any]:
            hits, misses = r.mget(self._stat_key(db_id, "hits"), self._stat_key(db_id, "misses"))
            keys = 0
            memory = 0
            for key in r.scan_iter(match=f"{self._ns(db_id)}:*", count=500):
                keys += 1
                memory += int(r.memory_usage(key) or 0)
            info = r.info("memory")
            return {
                "hits": int(hits or 0),
                "misses": int(misses or 0),
                "keys": keys,
                "memory_bytes": memory,
                "server_memory": info.get("used_memory_human"),
                "ttl_seconds": self.ttl,
                "redis": self.where,
            }

        result: dict[str, Any] = self._call(collect)
        return result

    def clear(self, db_id: str) -> int:
        """Drop every key of this database's namespace (generations restart from the clock)."""

        def drop(r: Any) -> int:
            removed = 0
            batch: list[bytes] = []
            for key in r.scan_iter(match=f"{self._ns(db_id)}:*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    removed += int(r.unlink(*batch))
                    batch.clear()
            if batch:
                removed += int(r.unlink(*batch))
            return removed

        result: int = self._call(drop)
        return result
