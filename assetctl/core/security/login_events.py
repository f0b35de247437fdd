"""Every login on record: what the caller's machine says about itself (gathered before the
login transaction opens, so no database lock is held during the network lookup), the login
itself with its event, alerts and pending notifications in one transaction, and history.
"""

from __future__ import annotations

import getpass
import ipaddress
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assetctl import __version__
from assetctl.config import Settings
from assetctl.core.auth.accounts import NOT_AN_EMAIL, LoginFailed, LoginResult, normalise_email
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.security.geo import GeoInfo, GeoLocator, open_locator
from assetctl.core.security.public_ip import IpLookup, discover
from assetctl.errors import InvalidInputError, PermissionDeniedError
from assetctl.json_values import visible

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import LoginEvent


@dataclass
class LoginProbe:
    """Facts about the caller gathered before the login transaction."""

    lookup: IpLookup
    hostname: str | None
    os_user: str | None
    cli_version: str
    locator: GeoLocator | None = None
    geo_warning: str | None = None


@dataclass
class LoginOutcome:
    result: LoginResult
    alerts: list[dict[str, Any]] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)


def _os_user(env: Mapping[str, str]) -> str | None:
    for name in ("USER", "LOGNAME", "USERNAME"):
        if env.get(name):
            return env[name]
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container: simply unknown
        return None


def probe(settings: Settings, env: Mapping[str, str]) -> LoginProbe:
    """Public IP (echo services, bounded by public_ip_timeout), host, OS user, CLI version
    and the GeoIP database. Never raises: whatever fails is recorded as unknown."""
    lookup = discover(
        str(settings.values["public_ip_urls"]), float(settings.values["public_ip_timeout"])
    )
    try:
        hostname: str | None = socket.gethostname()
    except OSError:
        hostname = None
    locator, warning = open_locator(str(settings.values["geoip_db"]))
    return LoginProbe(lookup, hostname, _os_user(env), __version__, locator, warning)


def database_now(session: Session) -> datetime:
    """The database server's clock (UTC), so events from many machines order correctly."""
    from sqlalchemy import func, select

    if session.get_bind().dialect.name == "sqlite":
        raw = session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
        return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    value = session.execute(select(func.now())).scalar_one()
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def database_client_addr(session: Session) -> str | None:
    """The address PostgreSQL sees this connection come from (None on SQLite or a socket)."""
    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        return None
    value = session.execute(text("SELECT host(inet_client_addr())")).scalar_one_or_none()
    return str(value) if value else None


def _clip(value: str | None, length: int) -> str | None:
    """A value from the environment, the OS or a GeoIP file: it cannot be refused (a login
    must not fail over `$USER`), so what the field rules forbid is stored visibly escaped."""
    return visible(value)[:length] if value else None


def _is_global(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def _client_facts(found: LoginProbe, db_addr: str | None) -> dict[str, Any]:
    """What the client alone knows of a login. The public address is the first echo
    answer, else a global address the database saw, else unknown (recorded, never an
    alert)."""
    ip, source = found.lookup.primary, "echo"
    if ip is None and _is_global(db_addr):
        ip, source = db_addr, "database"
    elif ip is None:
        source = "off" if found.lookup.disabled else "unknown"
    geo: GeoInfo | None = None
    if ip is not None and found.locator is not None:
        geo = found.locator.lookup(ip)
    return {
        "ip": ip,
        "ip_source": source,
        "public_ips": [{"address": a.address, "source": a.source} for a in found.lookup.addresses],
        "hostname": _clip(found.hostname, 255),
        "os_user": _clip(found.os_user, 128),
        "cli_version": _clip(found.cli_version, 32),
        "country": _clip(geo.country, 2) if geo else None,
        "city": _clip(geo.city, 200) if geo else None,
        "latitude": geo.latitude if geo else None,
        "longitude": geo.longitude if geo else None,
        "accuracy_radius": geo.accuracy_radius if geo else None,
        "network": _clip(geo.network, 49) if geo else None,
    }


def record_event(
    session: Session,
    found: LoginProbe,
    *,
    user_id: int | None,
    email: str,
    success: bool,
    jti: str | None,
) -> LoginEvent:
    """SQLite: write one login event (on PostgreSQL the database writes it, see
    `add_details`)."""
    from assetctl.db.models import LoginEvent

    event = LoginEvent(
        user_id=user_id,
        email=email[:254],
        success=success,
        at=database_now(session),
        db_client_addr=None,
        jti=jti,
        **_client_facts(found, None),
    )
    from assetctl.core.security import store

    return store.add_login_event(session, event)


def add_details(session: Session, found: LoginProbe, attempt: str) -> int:
    """PostgreSQL: the database wrote the attempt's login event itself (outcome, time,
    the address it saw); add what only this client knows to it. Returns the event's id."""
    from assetctl.core.auth.store import call

    facts = _client_facts(found, database_client_addr(session))
    return int(
        call(
            session,
            "assetctl_login_details",
            attempt,
            facts["ip"],
            facts["ip_source"],
            json.dumps(facts["public_ips"]),
            *(facts[key] for key in _DETAIL_KEYS),
        )
    )


# The client's facts in the order assetctl_login_details takes them after the public IPs.
_DETAIL_KEYS = (
    "hostname",
    "os_user",
    "cli_version",
    "country",
    "city",
    "latitude",
    "longitude",
    "accuracy_radius",
    "network",
)


def audited_login(
    session: Session, settings: Settings, found: LoginProbe, *, email: str, password: str
) -> LoginOutcome:
    """`auth.login`, with the attempt on record: a failure is recorded and LoginFailed
    re-raised (its transaction still commits); a success is checked for new locations, and
    any alerts with their pending notifications are written in this same transaction. On
    PostgreSQL the database records the event (and commits the attempt) itself; this adds
    the client's facts to it."""
    from sqlalchemy import select

    from assetctl.core.auth.accounts import login
    from assetctl.core.security import alerts, notify
    from assetctl.db.models import LoginEvent, User

    try:
        result = login(session, settings, email=email, password=password, host=found.hostname)
    except LoginFailed as failed:
        if failed.attempt is not None:
            add_details(session, found, failed.attempt)
            raise
        try:
            attempted = normalise_email(email)
        except InvalidInputError:
            attempted = NOT_AN_EMAIL
        user_id = session.execute(
            select(User.id).where(User.email == attempted)
        ).scalar_one_or_none()
        record_event(session, found, user_id=user_id, email=attempted, success=False, jti=None)
        raise
    who = result.principal
    if result.attempt is not None:
        event_id = add_details(session, found, result.attempt)
        event = session.get(LoginEvent, event_id, populate_existing=True)
        assert event is not None  # the caller's own event
    else:
        event = record_event(
            session, found, user_id=who.user_id, email=who.email, success=True, jti=who.jti
        )
    raised = alerts.detect(session, settings, event)
    deliveries = notify.queue(session, settings, raised)
    return LoginOutcome(
        result,
        [alerts.alert_record(alert, who.email) for alert in raised],
        [delivery.id for delivery in deliveries],
    )


def event_record(event: LoginEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "email": event.email,
        "success": event.success,
        "ip": event.ip,
        "ip_source": event.ip_source,
        "public_ips": event.public_ips,
        "db_client_addr": event.db_client_addr,
        "hostname": event.hostname,
        "os_user": event.os_user,
        "cli_version": event.cli_version,
        "jti": event.jti,
        "country": event.country,
        "city": event.city,
        "latitude": event.latitude,
        "longitude": event.longitude,
        "accuracy_radius": event.accuracy_radius,
        "network": event.network,
    }


def login_history(
    session: Session, caller: Principal, *, email: str | None, limit: int
) -> list[dict[str, Any]]:
    """Login events newest first: the caller's own, or (admins only) any user's, including
    failed attempts with that email for which no user exists."""
    from sqlalchemy import or_, select

    from assetctl.db.models import LoginEvent, User

    target = normalise_email(email) if email else caller.email
    if target != caller.email:
        try:
            require(caller, Permission.ADMIN)
        except PermissionDeniedError:
            raise PermissionDeniedError(
                "only an admin can see another user's login history",
                hint="omit --user to see your own",
            ) from None
    user_id = session.execute(select(User.id).where(User.email == target)).scalar_one_or_none()
    match = LoginEvent.email == target
    if user_id is not None:
        match = or_(LoginEvent.user_id == user_id, match)
    rows = session.execute(
        select(LoginEvent).where(match).order_by(LoginEvent.id.desc()).limit(limit)
    ).scalars()
    return [event_record(row) for row in rows]
