"""The security policy: lockout, the longest token lifetime, the alert channels and whether
a login from an unknown public IP is itself alerted. It lives in the database
(`security_policy`), set by an admin with `assetctl policy set`, never in a caller's config:
whoever logs in must not be able to switch the lockout off or decide whether the security
team hears of it.

`POLICY` is the one catalogue: `policy show/set`, the defaults, and on PostgreSQL the
definer functions that read and write the table (`assetctl.db.pg_functions`) derive from it.
On PostgreSQL only `assetctl_set_policy` (admin EXECUTE) writes the table; the login
functions read it themselves, so a client's values never reach them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from assetctl.config import Settings
from assetctl.config_values import (
    mask_url,
    parse_duration,
    parse_emails,
    parse_smtp_url,
    parse_webhook_url,
)
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.errors import InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DAY = 86_400
MAX_LOCK_S = 30 * DAY
MAX_TOKEN_S = 365 * DAY


@dataclass(frozen=True)
class PolicyKey:
    key: str
    parse: Callable[[object], str]  # -> the canonical stored text; ValueError with a reason
    default: str
    help: str
    # Whole numbers between these bounds; the database checks them too.
    bounds: tuple[int, int] | None = None
    secret: bool = False  # shown masked (a webhook URL or SMTP URL carries a credential)


def _count(low: int, high: int) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        text = str(raw).strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return str(int(text))

    return parse


def _duration(high: int, unit: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        seconds = parse_duration(str(raw))
        if seconds > high:
            raise ValueError(f"at most {unit}")
        return str(seconds)

    return parse


def _text(parser: Callable[[object], str]) -> Callable[[object], str]:
    return lambda raw: parser(str(raw))


def _switch(raw: object) -> str:
    text = str(raw).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return "on"
    if text in ("off", "false", "no", "0"):
        return "off"
    raise ValueError("expected on or off")


POLICY: tuple[PolicyKey, ...] = (
    PolicyKey(
        "lockout_threshold",
        _count(1, 100),
        "5",
        "failed logins within lockout_window that lock an account",
        bounds=(1, 100),
    ),
    PolicyKey(
        "lockout_window",
        _duration(MAX_LOCK_S, "30 days"),
        "900",
        "window for counting failed logins (seconds; 15m, 1h ... accepted)",
        bounds=(1, MAX_LOCK_S),
    ),
    PolicyKey(
        "lockout_duration",
        _duration(MAX_LOCK_S, "30 days"),
        "900",
        "how long a lock lasts (seconds)",
        bounds=(1, MAX_LOCK_S),
    ),
    PolicyKey(
        "token_lifetime",
        _duration(MAX_TOKEN_S, "365 days"),
        str(8 * 3600),
        "longest session; a caller's own token_lifetime may only be shorter (seconds)",
        bounds=(1, MAX_TOKEN_S),
    ),
    PolicyKey(
        "alert_webhook_url",
        _text(parse_webhook_url),
        "",
        "URL that receives each security alert as a JSON POST (empty: none)",
        secret=True,
    ),
    PolicyKey(
        "smtp_url",
        _text(parse_smtp_url),
        "",
        "mail server for alert email: smtp://user:pass@host:587 or smtps://... (empty: none)",
        secret=True,
    ),
    PolicyKey("alert_email_to", _text(parse_emails), "", "who receives security alert email"),
    PolicyKey(
        "alert_unknown_ip",
        _switch,
        "off",
        "raise an alert for a login whose public IP nobody could establish (on/off)",
    ),
)
KEYS: dict[str, PolicyKey] = {item.key: item for item in POLICY}
# Each alert channel and the policy keys it needs (all non-empty): a delivery is queued for
# every channel whose keys are set. The log channel needs none.
CHANNELS: dict[str, tuple[str, ...]] = {
    "log": (),
    "webhook": ("alert_webhook_url",),
    "email": ("smtp_url", "alert_email_to"),
}
# The policy keys that configure alert channels (the delivery code reads them like
# settings). On PostgreSQL only admins read their rows: they hold credentials.
CHANNEL_KEYS = tuple(key for keys in CHANNELS.values() for key in keys)


def enabled_channels(values: Mapping[str, object]) -> list[str]:
    """The channels whose policy keys all have a value in `values`."""
    return [name for name, keys in CHANNELS.items() if all(values.get(key) for key in keys)]


def configured_channels(session: Session) -> list[str]:
    """The channels the database's policy configures. On PostgreSQL through
    `assetctl_alert_channels`, which any login may call: a login that may not read the
    channels' credentials still queues a delivery for each channel."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        found = session.execute(text("SELECT assetctl_alert_channels()")).scalar()
        return [name for name in CHANNELS if name in (found or [])]
    return enabled_channels(policy_values(session))


def _shown(item: PolicyKey, value: str) -> str:
    """A credential-bearing URL as scheme, user and host only (a webhook's path or query
    often is its token)."""
    if not item.secret or not value:
        return value
    parts = urlsplit(mask_url(value))
    hidden = "/***" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{hidden}"


def parse_policy(key: str, value: str) -> str:
    """The canonical text of `value` for `key`; InvalidInputError (exit 2) naming both."""
    item = KEYS.get(key)
    if item is None:
        raise InvalidInputError(
            f"unknown policy key {key!r} (value {value!r})",
            hint=f"known keys: {', '.join(KEYS)}",
        )
    try:
        return item.parse(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"invalid value {_shown(item, value)!r} for policy key {key}: {exc}"
        ) from None


@dataclass(frozen=True)
class Stored:
    value: str
    updated_at: datetime | None
    updated_by: str | None


def _stored(session: Session) -> dict[str, Stored]:
    """The stored rows this login may read. On PostgreSQL no client SELECTs the alert
    channels' rows (they hold credentials); an admin's session, which delivers pending
    alerts, gets them through `assetctl_alert_credentials`, anyone else goes without."""
    from sqlalchemy import select, text

    from assetctl.core.auth.store import call, on_postgres
    from assetctl.db.models import SecurityPolicy

    query = select(SecurityPolicy.key, SecurityPolicy.value, SecurityPolicy.updated_at,
                   SecurityPolicy.updated_by)  # fmt: skip
    rows = list(session.execute(query).all())
    if on_postgres(session) and call(session, "assetctl_is_admin"):
        rows += session.execute(text("SELECT * FROM assetctl_alert_credentials()")).all()
    return {str(row[0]): Stored(str(row[1]), row[2], row[3]) for row in rows}


def policy_values(session: Session) -> dict[str, str]:
    """Every key's stored value (that this login may read, see `_stored`), or its default."""
    stored = _stored(session)
    return {
        item.key: stored[item.key].value if item.key in stored else item.default for item in POLICY
    }


def with_channels(session: Session, settings: Settings) -> Settings:
    """`settings` with the alert channels taken from the database policy (the delivery
    code reads them as settings; the caller's own config has no say in them)."""
    values = policy_values(session)
    channels = {key: values[key] for key in CHANNEL_KEYS}
    return replace(settings, values={**settings.values, **channels})


def show_policy(session: Session, caller: Principal) -> list[dict[str, Any]]:
    """Every policy key with its value (credentials masked), default and help (admin)."""
    require(caller, Permission.ADMIN)
    rows = _stored(session)
    result = []
    for item in POLICY:
        row = rows.get(item.key)
        result.append(
            {
                "key": item.key,
                "value": _shown(item, row.value if row else item.default),
                "source": "database" if row else "default",
                "default": item.default,
                "updated_at": row.updated_at if row else None,
                "updated_by": row.updated_by if row else None,
                "help": item.help,
            }
        )
    return result


def set_policy(session: Session, caller: Principal, key: str, value: str) -> dict[str, Any]:
    """Store one policy value (admin). On PostgreSQL through `assetctl_set_policy`, the only
    way any client role may write the table."""
    from assetctl.core.auth.store import call, on_postgres
    from assetctl.db.models import SecurityPolicy

    require(caller, Permission.ADMIN)
    canonical = parse_policy(key, value)
    now = datetime.now(UTC)
    if on_postgres(session):
        call(session, "assetctl_set_policy", key, canonical, caller.email)
    else:
        row = session.get(SecurityPolicy, key) or SecurityPolicy(key=key)
        row.value, row.updated_at, row.updated_by = canonical, now, caller.email
        session.add(row)
    session.flush()
    return {"key": key, "value": _shown(KEYS[key], canonical)}
