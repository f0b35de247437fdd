"""Issue 2, items 3 and 8: Alembic migrations from empty on SQLite and PostgreSQL, `db current`,
the head constant, no drift between models and migrations, and a clean downgrade."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, inspect

from assetctl.db.migrate import alembic_config
from assetctl.db.schema_version import HEAD_REVISION
from assetctl.db.tables import metadata

from .conftest import Cli, base_env, create_pg_database, drop_pg_database, pg_url_for

if TYPE_CHECKING:
    from alembic.config import Config


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("pg_database")  # skips (or fails under CI) without PostgreSQL
    name = create_pg_database()
    try:
        yield pg_url_for(name)
    finally:
        drop_pg_database(name)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_head_revision_constant_is_the_alembic_head() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD_REVISION]  # one head, and it is the constant


def test_upgrade_from_empty_and_current(tmp_path: Path, empty_url: str) -> None:
    cli = Cli(base_env(tmp_path, empty_url))
    before = cli.ok("db", "current")
    assert before.stdout == "none\n"
    assert "assetctl db upgrade" in before.stderr

    upgraded = cli.ok("db", "upgrade")
    assert upgraded.stdout == ""
    assert "from empty" in upgraded.stderr and HEAD_REVISION in upgraded.stderr
    assert cli.ok("db", "current").stdout == f"{HEAD_REVISION}\n"
    assert set(metadata.tables) <= _tables(empty_url)

    again = cli.ok("db", "upgrade")
    assert "already" in again.stderr
    assert cli.ok("db", "current").stdout == f"{HEAD_REVISION}\n"


def _drift(url: str) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_autogenerate_finds_no_drift(db_url: str) -> None:
    """Models and migrations describe the same schema on both databases."""
    assert _drift(db_url) == []


def _alembic(url: str, action: Callable[[Config, str], None], *targets: str) -> None:
    """Run an Alembic command (`command.upgrade`, `command.downgrade`) to each target in
    turn, each on its own connection and committed."""
    config = alembic_config()
    engine = create_engine(url)
    try:
        for target in targets:
            with engine.connect() as conn:
                config.attributes["connection"] = conn
                action(config, target)
                conn.commit()
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    from alembic import command

    from assetctl.db.migrate import revision, upgrade

    upgrade(empty_url)
    _alembic(empty_url, command.downgrade, "base")
    assert revision(empty_url) is None
    assert _tables(empty_url) <= {"alembic_version"}
    assert upgrade(empty_url) == (None, HEAD_REVISION)
    assert _drift(empty_url) == []


def test_step_by_step_upgrade_matches(empty_url: str) -> None:
    """Every revision applies on its own (what an upgrade of an older deployment does)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in scripts.walk_revisions()]
    _alembic(empty_url, command.upgrade, *reversed(revisions))
    assert _drift(empty_url) == []


def test_data_commands_refuse_an_older_schema(tmp_path: Path, empty_url: str) -> None:
    """A database one migration behind: exit 7 naming both revisions and `db upgrade`."""
    from alembic import command
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    previous = scripts.get_revision(HEAD_REVISION).down_revision
    assert isinstance(previous, str)
    _alembic(empty_url, command.upgrade, previous)
    cli = Cli(base_env(tmp_path, empty_url))
    result = cli("asset", "list")
    assert result.exit_code == 7
    assert previous in result.stderr and HEAD_REVISION in result.stderr
    assert "assetctl db upgrade" in result.stderr
    assert cli.ok("db", "current").stdout == f"{previous}\n"
    cli.ok("db", "upgrade")
    assert cli.ok("db", "current").stdout == f"{HEAD_REVISION}\n"
