"""The database round trip of a cache hit: one call of `assetctl_cache_probe` (see
`assetctl.db.pg_cache`) over the bare driver, so a hit never imports SQLAlchemy; and the
same call inside a miss's transaction.

The probe answers what a stored entry is valid for: the cache namespace and schema revision,
the data generation and the key that signs entries of that generation; or why the database
refuses the caller's token now (then there is no hit: the command takes the ordinary path,
which reports the refusal in its own words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PROBE_SQL = "SELECT * FROM assetctl_cache_probe(%s)"
# A hit is a shortcut: a server slower than this to accept a connection or to answer is left
# to the ordinary path, with its own (longer) timeouts and error messages.
CONNECT_TIMEOUT_S = 2
STATEMENT_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Probe:
    """The database's answer for one caller, at one moment."""

    reason: str | None  # why the token is refused now; None when accepted
    role: str
    namespace: str
    revision: str
    generation: int
    mac_key: bytes

    @classmethod
    def from_row(cls, row: Any) -> Probe:
        reason, role, namespace, revision, generation, mac_key = row
        if reason is not None:
            return cls(str(reason), "", "", "", 0, b"")
        return cls(None, str(role), str(namespace), str(revision), int(generation),
                   bytes.fromhex(str(mac_key)))  # fmt: skip


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql", "postgres:"))


def _connect_args(database_url: str) -> tuple[str, dict[str, Any]]:
    """libpq's spelling of a `postgresql+psycopg2://` URL, and the timeouts of a hit."""
    dsn = "postgresql://" + database_url.split("://", 1)[1]
    options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
    given = parse_qs(urlsplit(dsn).query).get("options")
    if given:
        options = f"{given[-1]} {options}"
    args = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "assetctl",
            "options": options,
            # A server that vanishes mid-call is noticed in seconds, not TCP's minutes.
            "keepalives": 1, "keepalives_idle": 2, "keepalives_interval": 1,
            "keepalives_count": 2}  # fmt: skip
    return dsn, args


def probe_bare(database_url: str, token: str) -> Probe | None:
    """The probe over a connection of its own, or None when it could not be asked (server
    down or slow, schema not upgraded, a URL the driver reads differently): then the
    ordinary path answers and reports whatever is wrong."""
    import psycopg2

    dsn, args = _connect_args(database_url)
    try:
        conn = psycopg2.connect(dsn, **args)
    except (psycopg2.Error, ValueError):
        return None
    try:
        with conn.cursor() as cursor:
            cursor.execute(PROBE_SQL, (token,))
            row = cursor.fetchone()
        conn.rollback()
    except psycopg2.Error:
        return None
    finally:
        conn.close()
    try:
        return None if row is None else Probe.from_row(row)
    except (ValueError, TypeError):  # pragma: no cover - our own function's answer
        return None


def probe_in(session: Session, token: str) -> Probe | None:
    """The probe as the first statement of a miss's transaction, so the generation it reads
    is no newer than the data the following query sees."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with session.begin_nested():
            row = session.execute(
                text("SELECT * FROM assetctl_cache_probe(:token)"), {"token": token}
            ).one_or_none()
    except DBAPIError:
        return None
    return None if row is None else Probe.from_row(tuple(row))
