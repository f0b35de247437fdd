"""Detection of logins from new locations, and the alert list administrators work through.

Against the user's successful logins within `login_retention` (90 days by default):
- the first login with a known address is the baseline and raises nothing;
- a new IP address raises `new_ip` (warning); IPv6 addresses are compared by their /64,
  since one household or office gets a /64 and rotates addresses within it;
- with a GeoIP database, a new country raises `new_country` (high), and travel from the
  previous login faster than 1000 km/h, after subtracting both accuracy radii, raises
  `impossible_travel` (critical).
A location with an open (unacknowledged) alert does not count as known, so an attacker who
keeps using it keeps being reported, but at most once per user, kind and location per 24 h.
An unknown address is recorded and raises nothing.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from assetctl.config import Settings
from assetctl.core.auth.accounts import normalise_email
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.security import store
from assetctl.errors import NotFoundError, PermissionDeniedError
from assetctl.json_values import rfc3339

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import LoginEvent, SecurityAlert

SEVERITY = {
    "new_ip": "warning",
    "new_country": "high",
    "impossible_travel": "critical",
    # Nobody could establish the public IP (lookup off, blocked or failing): with the
    # policy's alert_unknown_ip on, that is itself worth a look, since a caller can cause it.
    "unknown_ip": "warning",
}
DEDUPE_WINDOW = timedelta(hours=24)
MAX_SPEED_KMH = 1000.0
EARTH_RADIUS_KM = 6371.0


def location_key(address: str) -> str:
    """An IPv4 address as is; an IPv6 address as its /64 network."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _details(event: LoginEvent) -> dict[str, Any]:
    return {
        "login_event_id": event.id,
        "ip": event.ip,
        "ip_source": event.ip_source,
        "public_ips": event.public_ips,
        "country": event.country,
        "city": event.city,
        "network": event.network,
        "hostname": event.hostname,
        "os_user": event.os_user,
        "cli_version": event.cli_version,
    }


def _travel(previous: LoginEvent, event: LoginEvent) -> dict[str, Any] | None:
    """Details of an impossible journey from `previous` to `event`, or None."""
    if None in (previous.latitude, previous.longitude, event.latitude, event.longitude):
        return None
    assert previous.latitude is not None and previous.longitude is not None
    assert event.latitude is not None and event.longitude is not None
    raw = distance_km(previous.latitude, previous.longitude, event.latitude, event.longitude)
    # Either end may be anywhere within its accuracy radius: only the rest is certain.
    km = max(0.0, raw - (previous.accuracy_radius or 0) - (event.accuracy_radius or 0))
    hours = max((event.at - previous.at).total_seconds(), 0.0) / 3600
    if km == 0 or (hours > 0 and km / hours <= MAX_SPEED_KMH):
        return None
    return {
        "previous": {
            "ip": previous.ip,
            "country": previous.country,
            "city": previous.city,
            "at": rfc3339(previous.at),
        },
        "distance_km": round(km, 1),
        "hours": round(hours, 3),
        "speed_kmh": round(km / hours, 1) if hours > 0 else None,
    }


def detect(session: Session, settings: Settings, event: LoginEvent) -> list[SecurityAlert]:
    """The alerts a successful login raises (already added to the session)."""
    from sqlalchemy import select

    from assetctl.core.security.policy import policy_values
    from assetctl.db.models import LoginEvent, SecurityAlert

    if not event.success or event.user_id is None:
        return []
    if event.ip is None:
        if policy_values(session)["alert_unknown_ip"] != "on":
            return []
        return _raise(session, event, [("unknown_ip", "unknown", _details(event))])
    since = event.at - timedelta(seconds=int(settings.values["login_retention"]))
    earlier = (
        LoginEvent.user_id == event.user_id,
        LoginEvent.success.is_(True),
        LoginEvent.at >= since,
        LoginEvent.ip.is_not(None),
        LoginEvent.id != event.id,
    )
    # Distinct values only: a script that logs in every minute must not make this slow.
    seen_ips = list(session.execute(select(LoginEvent.ip).where(*earlier).distinct()).scalars())
    if not seen_ips:
        return []  # the baseline
    countries = set(
        session.execute(
            select(LoginEvent.country).where(*earlier, LoginEvent.country.is_not(None)).distinct()
        ).scalars()
    )
    previous = session.execute(
        select(LoginEvent)
        .where(*earlier, LoginEvent.latitude.is_not(None))
        .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    unacked: dict[str, set[str]] = {kind: set() for kind in SEVERITY}
    for kind, location in session.execute(
        select(SecurityAlert.kind, SecurityAlert.location).where(
            SecurityAlert.user_id == event.user_id, SecurityAlert.acked_at.is_(None)
        )
    ):
        unacked[kind].add(location)

    found: list[tuple[str, str, dict[str, Any]]] = []
    key = location_key(event.ip)
    known_ips = {location_key(ip) for ip in seen_ips if ip} - unacked["new_ip"]
    if key not in known_ips:
        found.append(("new_ip", key, _details(event)))
    if event.country and countries and event.country not in countries - unacked["new_country"]:
        found.append(("new_country", event.country, _details(event)))
    journey = _travel(previous, event) if previous is not None else None
    if previous is not None and previous.ip and journey is not None:
        where = f"{location_key(previous.ip)}>{key}"[:128]
        found.append(("impossible_travel", where, {**_details(event), **journey}))
    return _raise(session, event, found)


def _raise(
    session: Session, event: LoginEvent, found: list[tuple[str, str, dict[str, Any]]]
) -> list[SecurityAlert]:
    """Add the alerts in `found`, except those raised for the same location in 24 h."""
    from sqlalchemy import select

    from assetctl.db.models import SecurityAlert

    assert event.user_id is not None
    raised: list[SecurityAlert] = []
    for kind, location, details in found:
        recent = session.execute(
            select(SecurityAlert.id)
            .where(
                SecurityAlert.user_id == event.user_id,
                SecurityAlert.kind == kind,
                SecurityAlert.location == location,
                SecurityAlert.at >= event.at - DEDUPE_WINDOW,
            )
            .limit(1)
        ).first()
        if recent is not None:
            continue
        alert = SecurityAlert(
            user_id=event.user_id,
            login_event_id=event.id,
            kind=kind,
            severity=SEVERITY[kind],
            location=location[:128],
            details=details,
            at=event.at,
        )
        raised.append(store.add_alert(session, alert))
    return raised


def alert_record(
    alert: SecurityAlert, email: str, deliveries: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "id": alert.id,
        "at": alert.at,
        "user": email,
        "kind": alert.kind,
        "severity": alert.severity,
        "location": alert.location,
        "ip": alert.details.get("ip"),
        "country": alert.details.get("country"),
        "hostname": alert.details.get("hostname"),
        "details": alert.details,
        "acked_at": alert.acked_at,
        "acked_by": alert.acked_by,
        "deliveries": deliveries or {},
    }


def _deliveries(session: Session, ids: list[int]) -> dict[int, dict[str, str]]:
    from sqlalchemy import select

    from assetctl.db.models import AlertDelivery

    result: dict[int, dict[str, str]] = {alert_id: {} for alert_id in ids}
    if ids:
        rows = session.execute(
            select(AlertDelivery.alert_id, AlertDelivery.channel, AlertDelivery.status).where(
                AlertDelivery.alert_id.in_(ids)
            )
        )
        for alert_id, channel, status in rows:
            result[alert_id][channel] = status
    return result


def list_alerts(
    session: Session,
    caller: Principal,
    *,
    email: str | None,
    since: datetime | None,
    open_only: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """Alerts newest first. Admins see every user's (or --user's); others only their own."""
    from sqlalchemy import select

    from assetctl.db.models import SecurityAlert, User

    target = normalise_email(email) if email else None
    if caller.role != "admin" and target not in (None, caller.email):
        raise PermissionDeniedError(
            "only an admin can see another user's alerts", hint="omit --user to see your own"
        )
    if caller.role != "admin":
        target = caller.email
    query = select(SecurityAlert, User.email).join(User, User.id == SecurityAlert.user_id)
    if target is not None:
        query = query.where(User.email == target)
    if since is not None:
        query = query.where(SecurityAlert.at >= since)
    if open_only:
        query = query.where(SecurityAlert.acked_at.is_(None))
    rows = session.execute(query.order_by(SecurityAlert.id.desc()).limit(limit)).all()
    deliveries = _deliveries(session, [alert.id for alert, _ in rows])
    return [alert_record(alert, mail, deliveries[alert.id]) for alert, mail in rows]


def ack_alert(session: Session, caller: Principal, alert_id: int) -> dict[str, Any]:
    """Mark an alert handled (admin, never one about the caller's own account: another
    admin does that). Acknowledging twice changes nothing. Its location then counts as
    known for that user."""
    from assetctl.db.models import SecurityAlert, User

    require(caller, Permission.ADMIN)
    alert = session.get(SecurityAlert, alert_id)
    if alert is None:
        raise NotFoundError(f"no security alert {alert_id}", hint="see `assetctl alerts list`")
    if alert.user_id == caller.user_id:
        # Whoever holds this admin's password (perhaps the intruder the alert is about)
        # would otherwise make its own new location "known".
        raise PermissionDeniedError(
            f"alert {alert_id} is about your own account; you cannot acknowledge it",
            hint="another admin must acknowledge it, after checking with you",
        )
    if alert.acked_at is None:
        store.ack_alert(session, alert, caller.email, datetime.now(UTC))
    user = session.get(User, alert.user_id)
    session.flush()
    return alert_record(
        alert, user.email if user else "", _deliveries(session, [alert.id])[alert.id]
    )


def parse_since(raw: str, now: datetime | None = None) -> datetime:
    """`--since`: an RFC 3339 time or date (UTC unless an offset is given), or a duration
    back from now in the one duration syntax (`assetctl.durations`): 90min, 24h, 7d, 6m."""
    from assetctl.durations import parse_duration
    from assetctl.errors import InvalidInputError

    text = raw.strip()
    try:
        span = parse_duration(text)
    except ValueError:
        pass
    else:
        return span.before(now or datetime.now(UTC))
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"--since {raw!r} is neither a time nor a duration",
            hint="use e.g. 2026-11-01, 2026-11-01T08:00:00Z, 24h, 7d or 6m",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
