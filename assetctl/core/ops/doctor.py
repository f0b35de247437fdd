"""Health checks behind `assetctl doctor`: each returns one line of verdict and detail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assetctl.config import Settings
from assetctl.errors import AssetctlError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # Not run or not knowable (e.g. no provider configured): shown as neutral, never a failure.
    skipped: bool = False
    # Passes, but the user must know (roles advisory on this connection): shown as WARN.
    warning: bool = False


def check_config(settings: Settings) -> Check:
    if settings.config_exists:
        return Check("config", True, f"{settings.config_path} (profile {settings.profile})")
    return Check("config", True, f"no file at {settings.config_path}; using defaults and env")


def check_database(settings: Settings) -> list[Check]:
    """Reachability, then migration state (only meaningful when reachable)."""
    from assetctl.db.engine import describe_target
    from assetctl.db.migrate import revision
    from assetctl.db.schema_version import HEAD_REVISION

    target = describe_target(settings.database_url)
    try:
        current = revision(settings.database_url)
    except AssetctlError as exc:
        return [
            Check("database", False, exc.message),
            Check("migrations", False, "not checked: database unreachable"),
        ]
    reachable = Check("database", True, f"reachable: {target}")
    if current == HEAD_REVISION:
        return [reachable, Check("migrations", True, f"at head ({HEAD_REVISION})")]
    state = "never migrated" if current is None else f"at {current}, expected {HEAD_REVISION}"
    return [reachable, Check("migrations", False, f"{state}; run `assetctl db upgrade`")]


def check_roles(settings: Settings) -> list[Check]:
    """Which trust model applies: PostgreSQL roles enforced, advisory (superuser or schema
    owner: a loud warning), or the SQLite single-user file; two group roles on one login
    is a misconfiguration."""
    from assetctl.db.roles import connection_mode

    try:
        mode = connection_mode(settings.database_url)
    except AssetctlError as exc:
        return [Check("roles", False, f"not checked: {exc.message}")]
    if mode.kind == "sqlite":
        return [_sqlite_file(settings.database_url)]
    if mode.kind == "unmigrated":
        return [Check("roles", False, "no roles yet; run `assetctl db upgrade`")]
    if len(mode.groups) > 1:
        held = ", ".join(f"{mode.prefix}_{g}" for g in mode.groups)
        detail = f"login {mode.login!r} holds several assetctl group roles ({held}): misconfigured"
        return [Check("roles", False, f"{detail}; fix it with `assetctl user set-role`")]
    if mode.kind == "advisory":
        detail = (
            f"roles advisory: connecting login {mode.login!r} is a superuser or owns the schema; "
            "roles are advisory on this connection (use a login with one group role)"
        )
        return [Check("roles", True, detail, warning=True)]
    if mode.kind == "unlinked":
        detail = f"login {mode.login!r} holds no {mode.prefix}_* group role"
        return [Check("roles", False, f"{detail}; an admin runs `assetctl user add-login`")]
    role = mode.groups[0]
    return [Check("roles", True, f"PostgreSQL roles enforced: login {mode.login!r} is {role}")]


def _sqlite_file(url: str) -> Check:
    import os
    import stat

    from sqlalchemy.engine import make_url

    path = make_url(url).database or ""
    detail = "SQLite single-user file: its permissions (0600) are the boundary"
    if path and path != ":memory:" and os.path.exists(path):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            warn = f"{path} is mode {mode:04o}: other users can read it; run `chmod 600 {path}`"
            return Check("roles", True, f"{detail}; {warn}", warning=True)
    return Check("roles", True, detail)


def check_sqlite_integrity(settings: Settings) -> list[Check]:
    """`PRAGMA quick_check` of an SQLite file: a damaged page otherwise shows only when a
    command happens to read it."""
    import sqlite3

    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    path = url.database or ""
    if url.get_backend_name() != "sqlite" or path in ("", ":memory:"):
        return []
    try:
        # Read-only: doctor must not create the file or change it.
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        found = [str(exc)]
    if found == ["ok"]:
        return [Check("integrity", True, f"{path}: no damage found (quick_check)")]
    return [
        Check(
            "integrity",
            False,
            f"{path} is damaged ({'; '.join(found)}); restore it from a backup, or save what "
            f"is readable with `sqlite3 {path} .recover`",
        )
    ]


def check_search_index(settings: Settings) -> list[Check]:
    """PostgreSQL: whether `asset list --search` has its trigram index (pg_trgm); without it
    every search scans the whole table. SQLite always scans (and needs no index at its size)."""
    from sqlalchemy.exc import DBAPIError

    from assetctl.db import search_index
    from assetctl.db.engine import create_db_engine

    if not settings.database_url.startswith("postgresql"):
        return []
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            if not _has_assets(conn):
                return [Check("search", False, "not checked: run `assetctl db upgrade`")]
            if search_index.present(conn):
                return [Check("search", True, "indexed (pg_trgm trigram index)")]
            installed = search_index.extension_installed(conn)
    except DBAPIError:
        return [Check("search", False, "not checked: database unreachable")]
    finally:
        engine.dispose()
    if installed:
        missing = "pg_trgm is installed but the search index is missing"
    else:
        missing = "the pg_trgm extension is missing"
    detail = (
        f"not indexed: {missing}, so `asset list --search` scans every asset; have the "
        "database owner run `assetctl db upgrade` (it creates pg_trgm, a trusted extension, "
        "and the index; a server without the extension needs the postgresql-contrib package)"
    )
    return [Check("search", True, detail, warning=True)]


def _has_assets(conn: Any) -> bool:
    from sqlalchemy import text

    return conn.execute(text("SELECT to_regclass('assets') IS NOT NULL")).scalar_one() is True


def check_redis(settings: Settings) -> list[Check]:
    """Redis is optional: unset is fine, configured but unreachable is a failure."""
    from assetctl.config_values import mask_url

    url = settings.values.get("redis_url")
    if not url:
        return [Check("redis", True, "not configured (listings are not cached)")]
    if not settings.database_url.startswith("postgres"):
        return [Check("redis", True, "configured but not used: the cache serves PostgreSQL only")]
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(
        str(url), socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        client.ping()
    except redis.exceptions.NoPermissionError:
        # It answered and took the credentials: a restricted ACL user (e.g. a viewer's,
        # allowed only GET) still reads cached pages.
        detail = f"reachable: {mask_url(str(url))} (a restricted ACL user: may not PING)"
        return [Check("redis", True, detail)]
    except (redis.RedisError, OSError) as exc:
        return [Check("redis", False, f"{mask_url(str(url))} unreachable: {exc}")]
    finally:
        client.close()
    return [Check("redis", True, f"reachable: {mask_url(str(url))}")]


def check_vision_model(settings: Settings) -> list[Check]:
    """The `describe` provider: answers, has the model, accepts images. Skipped unless the
    user configured one (vlm_provider, vlm_base_url or vlm_model in the config file or
    env), so a machine that never uses `describe` still passes."""
    from assetctl.core.describe.service import check_provider, provider_config, vlm_configured

    if not vlm_configured(settings):
        config = provider_config(settings)
        return [
            Check(
                "vlm",
                True,
                f"not configured; `describe` would use {config.preset} at "
                f"{config.display_url} (set vlm_provider to check it here)",
                skipped=True,
            )
        ]
    return [
        Check(f"vlm {item.name}", item.ok is not False, item.detail, skipped=item.ok is None)
        for item in check_provider(settings)
    ]


def check_security_alerts(settings: Settings) -> list[Check]:
    """The public IP lookup (only when public_ip_urls is configured, so a default setup
    contacts no outside service) and the GeoIP database (when configured)."""
    from assetctl.core.security.geo import open_locator
    from assetctl.core.security.public_ip import discover

    checks: list[Check] = []
    urls = str(settings.values["public_ip_urls"])
    if urls == "off":
        checks.append(Check("ip lookup", True, "off (logins record no public IP)", skipped=True))
    elif settings.sources["public_ip_urls"] == "default":
        detail = f"default services {urls} (set public_ip_urls to check them here)"
        checks.append(Check("ip lookup", True, detail, skipped=True))
    else:
        lookup = discover(urls, float(settings.values["public_ip_timeout"]))
        if lookup.addresses:
            found = ", ".join(f"{a.address} (from {a.source})" for a in lookup.addresses)
            checks.append(Check("ip lookup", True, f"public IP {found}"))
        else:
            reasons = "; ".join(lookup.problems)
            detail = f"no usable answer ({reasons}); logins are recorded with an unknown IP"
            checks.append(Check("ip lookup", False, detail))
    path = str(settings.values["geoip_db"])
    locator, warning = open_locator(path)
    if locator is not None:
        checks.append(Check("geoip", True, f"{path} ({locator.kind} database)"))
        locator.close()
    elif warning is not None:
        checks.append(Check("geoip", False, warning))
    else:
        checks.append(
            Check("geoip", True, "not configured (alerts compare IPs only)", skipped=True)
        )
    return checks


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in order; a failing check never stops the others."""
    checks: list[Check] = [check_config(settings)]
    steps: list[Callable[[Settings], list[Check]]] = [
        check_database,
        check_roles,
        check_sqlite_integrity,
        check_search_index,
        check_redis,
        check_vision_model,
        check_security_alerts,
    ]
    for step in steps:
        checks.extend(step(settings))
    return checks
