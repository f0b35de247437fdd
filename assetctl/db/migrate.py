"""Alembic, driven programmatically by `assetctl db upgrade | current` and `assetctl init`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetctl.db.engine import create_db_engine, current_revision, unavailable
from assetctl.db.schema_version import HEAD_REVISION
from assetctl.errors import ServiceUnavailableError

if TYPE_CHECKING:
    from alembic.config import Config


def migrations_dir() -> Path:
    """`migrations/` beside the package in a checkout, or inside it in an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("assetctl's migrations directory is missing from this installation")


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def is_known(revision: str) -> bool:
    """Whether `revision` is one of this release's migrations (else a newer or a foreign
    assetctl stamped it)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return any(script.revision == revision for script in scripts.walk_revisions())


def unknown_revision(revision: str) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"the database schema is at revision {revision!r}, which this assetctl "
        f"(needing {HEAD_REVISION}) does not know",
        hint="a newer assetctl has migrated it: upgrade assetctl; migrations only go forward",
    )


def upgrade(url: str, role_prefix: str | None = None) -> tuple[str | None, str]:
    """Migrate the database at `url` to head. Returns (revision before, revision after).

    On PostgreSQL the security step (roles named from `role_prefix`, else
    ASSETCTL_DB_ROLE_PREFIX, else `assetctl`; grants, functions, row-level security, history
    triggers) is then applied in the same transaction, so a login without the rights for it
    (exit 7) leaves the database exactly as it was. Also exit 7 when the database is
    unreachable, or stamped with a revision this release does not know."""
    from alembic import command
    from sqlalchemy.exc import DBAPIError, OperationalError

    # No statement timeout: a migration may build an index over every asset (a minute or
    # more at a million); locks are still waited for at most the usual time.
    engine = create_db_engine(url, write=True, statement_timeout_s=0)
    migrating = False
    try:
        with engine.connect() as conn:
            before = current_revision(conn)
            if before is not None and not is_known(before):
                raise unknown_revision(before)
            conn.rollback()
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                prefix = _security_preflight(conn, role_prefix)
            migrating = True
            conn.rollback()
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            if postgres:
                from assetctl.db import search_index, security

                search_index.ensure(conn)
                security.apply(conn, prefix)
            conn.commit()
            after = current_revision(conn)
    except DBAPIError as exc:
        # Before migrating, any driver error (e.g. "file is not a database") means the
        # database is unusable; during the migration only connection-level errors do.
        if migrating and not isinstance(exc, OperationalError):
            raise
        raise unavailable(url, exc) from exc
    finally:
        engine.dispose()
    return before, after or HEAD_REVISION


def _security_preflight(conn: Any, role_prefix: str | None) -> str:
    """The role prefix to use, refusing (exit 2 / 7) before any migration runs."""
    from assetctl.db import roles, security
    from assetctl.errors import InvalidInputError

    if role_prefix is None:
        try:
            role_prefix = roles.prefix_from_env()
        except ValueError as exc:
            raise InvalidInputError(f"{roles.PREFIX_ENV}: {exc}") from None
    prefix = security.choose_prefix(conn, role_prefix)
    security.check_rights(conn, roles.RoleNames(prefix))
    return prefix


def revision(url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from sqlalchemy.exc import DBAPIError

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    except DBAPIError as exc:
        raise unavailable(url, exc) from exc
    finally:
        engine.dispose()
