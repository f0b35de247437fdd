"""Redis cache for asset listings (`asset list` pages and `asset show`), PostgreSQL only.

Keys live under `assetctl:{namespace}:` (the namespace names the database, see
`assetctl.db.pg_cache`) and embed the schema revision and the data generation. The
generation lives in the database and is bumped inside every transaction that changes
`assets`, whoever makes it; a reader learns it, together with a fresh check of its session,
from one database round trip (`assetctl.db.cache_probe`), then takes the value from Redis.
A page is stored under the generation read *before* the query that computed it, so a page
older than a committed write is never found again.

Every entry carries an HMAC whose key the database hands only to sessions it accepts, per
generation: whoever can only write to Redis cannot make an entry a reader will accept.
An entry that fails the check or cannot be read is dropped and answered from the database.

Redis down, slow, refusing the password or holding garbage never fails a command: the first
problem prints one warning, then the command answers from the database. A damaged counter
is overwritten, and a Redis user that may only read (an ACL user with GET) still gets hits:
the writes it may not make are skipped quietly (named under `-v`).

Nothing here imports SQLAlchemy: a cache hit must not pay for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from assetctl.config_values import mask_url
from assetctl.core.assets.schema import FIELDS, Kind
from assetctl.db.schema_version import HEAD_REVISION
from assetctl.json_values import unwire, wire

SOCKET_TIMEOUT_S = 0.3
PREFIX = "assetctl"
STATS = ("hits", "misses")
# What Redis says when a counter holds something INCR cannot count on.
_DAMAGED = ("WRONGTYPE", "value is not an integer", "increment or decrement would overflow")
log = logging.getLogger("assetctl.cache")


def key_digest(parts: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


# --- typed JSON for cached records: a hit must render exactly like a miss ----------------

# Field -> kind of every value a cached record holds that JSON does not carry as it is.
_KINDS: dict[str, str] = {
    f.name: f.kind for f in FIELDS if f.kind in (Kind.DATE, Kind.TIMESTAMP, Kind.MONEY)
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
    """What the database said before the query: which namespace and generation a stored
    entry is valid for, and the key that signs entries of that generation."""

    namespace: str
    generation: int
    mac_key: bytes


def _mac(snap: Snapshot, key: str, body: str) -> str:
    return hmac.new(snap.mac_key, f"{key}\n{body}".encode(), hashlib.sha256).hexdigest()


class Cache:
    """One command's view of the cache. Every method either works or raises
    CacheUnavailable; `AppState` turns that into a single warning and stops using Redis."""

    def __init__(self, redis_url: str, ttl: int) -> None:
        self.redis_url = redis_url
        self.ttl = ttl
        self._client: Any = None
        # Problems that did not stop the cache (a damaged entry): one warning each.
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
        except redis.exceptions.NoPermissionError as exc:
            message = f"the Redis user at {self.where} may not do this ({exc})"
            raise CacheUnavailable(message) from None
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(f"Redis at {self.where} is unavailable ({exc})") from None

    def _try(self, what: str, key: str, fn: Callable[[Any], Any]) -> Any:
        """A write the cache can do without: a Redis user that may not make it (ACL) or a
        key of another type is noted under -v, and the command carries on. None then."""
        from redis.exceptions import NoPermissionError, ResponseError

        try:
            return self._call_raw(fn)
        except NoPermissionError:
            log.info("the Redis user may not %s %s; skipped", what, key)
        except ResponseError as exc:
            log.info("Redis refused to %s %s (%s); skipped", what, key, exc)
        return None

    def _call_raw(self, fn: Callable[[Any], Any]) -> Any:
        """As `_call`, but a command error (ResponseError) is the caller's to handle."""
        import redis

        try:
            return fn(self._redis())
        except redis.ResponseError:
            raise
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(f"Redis at {self.where} is unavailable ({exc})") from None

    # --- keys ---------------------------------------------------------------------------

    def _ns(self, namespace: str) -> str:
        return f"{PREFIX}:{namespace}"

    def _entry_key(self, snap: Snapshot, kind: str, digest: str) -> str:
        return f"{self._ns(snap.namespace)}:{HEAD_REVISION}:{snap.generation}:{kind}:{digest}"

    def _stat_key(self, namespace: str, which: str) -> str:
        return f"{self._ns(namespace)}:stats:{which}"

    # --- entries --------------------------------------------------------------------------

    def get(self, snap: Snapshot, kind: str, digest: str) -> Any | None:
        """The cached value, None on a miss. An entry that cannot be read, or whose MAC
        does not hold (planted, or from another key), is never served: it is dropped."""
        from redis.exceptions import NoPermissionError, ResponseError

        key = self._entry_key(snap, kind, digest)
        try:
            raw = self._call_raw(lambda r: r.get(key))
        except NoPermissionError:
            raise CacheUnavailable(
                f"the Redis user at {self.where} may not read the cache's keys"
            ) from None
        except ResponseError:  # another type under our key (WRONGTYPE): drop it
            raw = b"\x00"
        if raw is None:
            self._count(snap.namespace, "misses")
            return None
        value = self._verified(snap, key, kind, raw)
        if value is None:
            self._try("delete", key, lambda r: r.delete(key))
            self._count(snap.namespace, "misses")
            log.info("dropped the cache entry %s: it could not be read or verified", key)
            self.problems.append("a cached entry could not be read or verified; it was dropped")
            return None
        self._count(snap.namespace, "hits")
        return value

    def _verified(self, snap: Snapshot, key: str, kind: str, raw: Any) -> Any | None:
        try:
            envelope = json.loads(raw)
            body = envelope["body"]
            if (
                envelope.get("schema") != HEAD_REVISION
                or envelope.get("kind") != kind
                or not isinstance(body, str)
                or not hmac.compare_digest(str(envelope["mac"]), _mac(snap, key, body))
            ):
                return None
            return json.loads(body)
        except (ValueError, TypeError, AttributeError, KeyError, UnicodeDecodeError):
            return None

    def put(self, snap: Snapshot, kind: str, digest: str, value: Any) -> None:
        key = self._entry_key(snap, kind, digest)
        body = json.dumps(value)
        payload = json.dumps(
            {"schema": HEAD_REVISION, "kind": kind, "body": body, "mac": _mac(snap, key, body)}
        )
        self._try("write", key, lambda r: r.set(key, payload, ex=self.ttl))

    def drop(self, snap: Snapshot, kind: str, digest: str) -> None:
        """Forget an entry whose value turned out unusable after all (e.g. undecodable)."""
        key = self._entry_key(snap, kind, digest)
        self._try("delete", key, lambda r: r.delete(key))
        log.info("dropped the cache entry %s: its value could not be decoded", key)

    def _count(self, namespace: str, which: str) -> None:
        """One more hit or miss. A counter that is not an integer any more is overwritten
        rather than left to fail every later command."""
        from redis.exceptions import NoPermissionError, ResponseError

        key = self._stat_key(namespace, which)
        try:
            self._call_raw(lambda r: r.incr(key))
        except NoPermissionError:
            log.info("the Redis user may not count %s in %s; skipped", which, key)
        except ResponseError as exc:
            if not str(exc).startswith(_DAMAGED):
                log.info("Redis refused to count %s in %s (%s); skipped", which, key, exc)
                return
            log.info("the counter %s held a value that is not a count (%s); reset", key, exc)
            self._try("reset", key, lambda r: r.set(key, 1))

    # --- administration -------------------------------------------------------------------

    def stats(self, namespace: str) -> dict[str, Any]:
        """Hits, misses, keys and memory of this database's namespace."""
        counts = {which: self._read_count(namespace, which) for which in STATS}

        def collect(r: Any) -> dict[str, Any]:
            keys = 0
            memory = 0
            for key in r.scan_iter(match=f"{self._ns(namespace)}:*", count=500):
                keys += 1
                memory += int(r.memory_usage(key) or 0)
            info = r.info("memory")
            return {
                **counts,
                "keys": keys,
                "memory_bytes": memory,
                "server_memory": info.get("used_memory_human"),
                "ttl_seconds": self.ttl,
                "redis": self.where,
            }

        result: dict[str, Any] = self._call(collect)
        return result

    def _read_count(self, namespace: str, which: str) -> int:
        from redis.exceptions import ResponseError

        key = self._stat_key(namespace, which)
        try:
            return int(self._call_raw(lambda r: r.get(key)) or 0)
        except (ResponseError, TypeError, ValueError):
            log.info("the counter %s held a value that is not a count; reset", key)
            self._try("reset", key, lambda r: r.set(key, 0))
            return 0

    def clear(self, namespace: str) -> int:
        """Drop every key of this database's namespace."""

        def drop(r: Any) -> int:
            removed = 0
            batch: list[bytes] = []
            for key in r.scan_iter(match=f"{self._ns(namespace)}:*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    removed += int(r.unlink(*batch))
                    batch.clear()
            if batch:
                removed += int(r.unlink(*batch))
            return removed

        result: int = self._call(drop)
        return result
