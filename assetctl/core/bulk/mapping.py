"""How to read someone else's spreadsheet: `--map 'Col=field'`, `--status-map 'Label=status'`
and the other reading options, given as flags or saved in a mapping file (TOML) so the same
export can be imported again next month with one flag:

    date_format = "%d.%m.%Y"      # also: decimal_comma, encoding, match
    [columns]
    "Asset #" = "tag"
    "Device" = "name"
    "Internal ref" = "ignore"
    [statuses]
    "In Use" = "assigned"

Flags win over the file, entry by entry. Every key and value is checked here, so a typo is
exit 2 naming it, before the file to import is opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from assetctl.core.assets.rules import STATUSES
from assetctl.core.bulk.dates import check_format
from assetctl.core.bulk.decode import check_encoding
from assetctl.core.bulk.reader import IGNORE, IMPORT_FIELDS, Recipe
from assetctl.core.bulk.staging import MATCH_KEYS
from assetctl.errors import InvalidInputError

_SETTINGS = {"date_format": str, "decimal_comma": bool, "encoding": str, "match": str}
_TABLES = ("columns", "statuses")


def _target(column: str, target: str, where: str) -> str:
    value = target.strip().lower()
    if value != IGNORE and value not in IMPORT_FIELDS:
        raise InvalidInputError(
            f"{where}: {target!r} (for column {column!r}) is not an asset field",
            hint=f"use one of: {', '.join(IMPORT_FIELDS)}, or {IGNORE}",
        )
    return value


def _status(label: str, status: str, where: str) -> str:
    value = status.strip().lower()
    if value not in STATUSES:
        raise InvalidInputError(
            f"{where}: {status!r} (for label {label!r}) is not a status",
            hint=f"use one of: {', '.join(STATUSES)}",
        )
    return value


def _pair(text: str, flag: str) -> tuple[str, str]:
    left, sep, right = text.rpartition("=")
    if not sep or not left.strip() or not right.strip():
        raise InvalidInputError(
            f"{flag} {text!r} is not of the form 'Column=value'",
            hint=f"e.g. {flag} 'Asset #=tag'" if flag == "--map" else "e.g. 'In Use=assigned'",
        )
    return left.strip(), right.strip()


def _load(path: str) -> dict[str, Any]:
    import tomllib

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read mapping file {path}: {exc.strerror or 'unreadable'}"
        ) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise InvalidInputError(
            f"mapping file {path} is not valid TOML",
            hint='write lines like  "Asset #" = "tag"  under a [columns] table',
        ) from None


def _from_file(path: str, result: dict[str, Any]) -> None:
    """Add the mapping file's settings to `result` (Recipe's fields)."""
    data = _load(path)
    where = f"mapping file {path}"
    for key, value in data.items():
        if key in _TABLES:
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise InvalidInputError(f"{where}: [{key}] must map names to text")
            for name, target in value.items():
                if key == "columns":
                    result["columns"][name] = _target(name, target, where)
                else:
                    result["statuses"][name.strip().lower()] = _status(name, target, where)
        elif key in _SETTINGS:
            if not isinstance(value, _SETTINGS[key]):
                wanted = "true or false" if key == "decimal_comma" else "text"
                raise InvalidInputError(f"{where}: {key} must be {wanted}")
            result[key] = value
        else:
            raise InvalidInputError(
                f"{where}: unknown key {key!r}",
                hint=f"known: {', '.join((*_SETTINGS, *(f'[{t}]' for t in _TABLES)))}",
            )


def build(
    *,
    file: str | None = None,
    columns: Iterable[str] = (),
    statuses: Iterable[str] = (),
    date_format: str | None = None,
    decimal_comma: bool = False,
    encoding: str | None = None,
    match: str | None = None,
) -> Recipe:
    """The reading options: the mapping `file`'s, overridden by the flags given."""
    settings: dict[str, Any] = {"columns": {}, "statuses": {}}
    if file is not None:
        _from_file(file, settings)
    for text in columns:
        column, target = _pair(text, "--map")
        settings["columns"][column] = _target(column, target, "--map")
    for text in statuses:
        label, status = _pair(text, "--status-map")
        settings["statuses"][label.lower()] = _status(label, status, "--status-map")
    given = {"date_format": date_format, "decimal_comma": decimal_comma or None,
             "encoding": encoding, "match": match}  # fmt: skip
    settings.update({key: value for key, value in given.items() if value is not None})
    recipe = Recipe(**settings)
    if recipe.date_format is not None:
        check_format(recipe.date_format)
    if recipe.encoding is not None:
        check_encoding(recipe.encoding)
    if recipe.match not in MATCH_KEYS:
        raise InvalidInputError(
            f"--match {recipe.match!r} is not known", hint="use --match tag or --match serial"
        )
    _no_two_sources(recipe.columns)
    return recipe


def _no_two_sources(columns: Mapping[str, str]) -> None:
    """Two columns mapped to one field cannot both fill it."""
    seen: dict[str, str] = {}
    for column, target in columns.items():
        if target != IGNORE and target in seen:
            raise InvalidInputError(
                f"columns {seen[target]!r} and {column!r} are both mapped to {target}",
                hint="map one column to each field",
            )
        seen[target] = column
