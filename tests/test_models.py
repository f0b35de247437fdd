"""The tables of `db/tables.py` and the ORM classes over them (issue 19, part 3): the tables
import no SQL dialect until the whole schema is asked for, and then have every index; the
Python types each class declares for the type checker name exactly its table's columns,
optional exactly where the column is nullable; and a class maps its own area only."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import inspect

from assetctl.db import models, tables


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_the_tables_load_no_dialect_until_the_schema_is_asked_for() -> None:
    code = (
        "import sys\n"
        "from assetctl.db import tables\n"
        "dialects = lambda: sorted(m for m in sys.modules if m.count('.') == 2\n"
        "                          and m.startswith('sqlalchemy.dialects.'))\n"
        "before = (dialects(), len(tables.assets_table.indexes))\n"
        "tables.metadata\n"
        "print(before, (dialects(), len(tables.assets_table.indexes)))\n"
    )
    before, after = _fresh(code).split(") (")
    assert before.startswith("([]")
    assert "sqlalchemy.dialects.postgresql" in after and "sqlalchemy.dialects.sqlite" in after
    names = {index.name for index in tables.metadata.tables["assets"].indexes}
    assert {"uq_assets_tag_active", "uq_assets_serial_active", "ix_assets_deleted_at"} <= names
    assert "ix_assets_search" in names


@pytest.mark.parametrize("name", [n for n in models.__all__ if n != "Asset"])
def test_declared_types_mirror_the_table(name: str) -> None:
    cls = getattr(models, name)
    table = inspect(cls).local_table
    declared: dict[str, str] = cls.__annotations__  # strings: never evaluated at run time
    assert list(declared) == list(table.c.keys())
    for col in table.c:
        assert ("| None" in declared[col.name]) == bool(col.nullable), col.name


def test_asset_maps_the_catalogue_table_with_its_version_check() -> None:
    mapper = inspect(models.Asset)
    assert mapper.local_table is tables.assets_table
    assert mapper.version_id_col is tables.assets_table.c.version
    assert set(mapper.columns.keys()) == set(tables.assets_table.c.keys())


def test_unreadable_user_columns_are_deferred() -> None:
    props = inspect(models.User).column_attrs
    deferred = {p.key for p in props if p.deferred}
    assert deferred == {"password_hash", "failed_logins", "first_failed_at", "locked_until"}


def test_a_class_maps_its_area_only() -> None:
    code = (
        "import sys\n"
        "from assetctl.db.models import Asset\n"
        "from sqlalchemy.orm import class_mapper\n"
        "class_mapper(Asset)\n"
        "print(sorted(m for m in sys.modules if m.startswith('assetctl.db.models.')))\n"
    )
    assert _fresh(code) == "['assetctl.db.models.assets']"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        models.NoSuchModel  # noqa: B018
