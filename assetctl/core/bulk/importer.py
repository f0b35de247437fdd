"""Bulk import of assets from CSV, JSON Lines or a Snipe-IT export: all or nothing.

The file is read as a stream: each row is validated with the same parsers `asset add` uses
(`core.assets.fields`). On PostgreSQL a plain import of new assets first tries the fast path
(`bulk.direct`): rows COPYed straight into `assets`, the unique indexes standing in for the
checks. Otherwise, or as soon as that attempt meets a problem (it is then rolled back to a
savepoint and the file read again, `bulk.replay`), rows go into a TEMP staging table, set-
based checks find duplicates and conflicts with existing assets, and only a clean file is
written from the staging table. Everything, history events included, happens in the
caller's single transaction: an error, Ctrl-C or a killed process leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from assetctl.core.assets.fields import PARSERS
from assetctl.core.assets.schema import FIELDS, REQUIRED, Kind, kind
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.bulk import direct, replay, staging, write
from assetctl.core.bulk.reader import (
    IMPORT_FIELDS,
    Problem,
    RawRow,
    Source,
    detect_format,
    open_source,
)
from assetctl.errors import AssetctlError, ExitStatus, InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Problems kept in detail; past this only the count grows (a wholly wrong file of a million
# rows must not exhaust memory while being reported).
MAX_PROBLEMS = 10_000


@dataclass(frozen=True)
class ImportOptions:
    format: str = "auto"
    update: bool = False
    dry_run: bool = False
    ignore_unknown: bool = False


@dataclass
class ImportResult:
    """What an import did (or, with --dry-run, would do)."""

    format: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "dry_run": self.dry_run,
            "ignored_columns": self.ignored_columns,
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems],
        }


class ImportRejected(AssetctlError):
    """The file has problems; nothing was written. Exit 6 when every problem is a conflict
    (duplicate or existing tag/serial), else 2."""

    kind = "import_rejected"

    def __init__(self, result: ImportResult) -> None:
        count = result.problem_count
        super().__init__(
            f"the file has {count} problem{'s' if count != 1 else ''}; nothing was imported",
            hint="fix the rows listed above and run the import again "
            "(--dry-run checks a file without writing)",
        )
        self.result = result
        conflicts_only = all(p.conflict for p in result.problems)
        self.exit_status = ExitStatus.CONFLICT if conflicts_only else ExitStatus.USAGE


def _staged(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda raw: parse(raw).isoformat()


# Field -> raw text to the value written to the staging table: the `asset add` parser (which
# returns the stored form), with dates as ISO text.
_STAGE: dict[str, Callable[[str], Any]] = {
    name: _staged(PARSERS[name]) if kind(name) is Kind.DATE else PARSERS[name]
    for name in IMPORT_FIELDS
}
# Fields whose values repeat across an inventory: their parsed values are memoised (parsers
# are pure), which makes validation of a large file markedly cheaper.
_MEMO_FIELDS = frozenset(f.name for f in FIELDS if f.repeats)
MEMO_MAX = 20_000  # entries per field, so memory stays bounded on unique values


def _shown(raw: str) -> str:
    return raw if len(raw) <= 80 else raw[:77] + "..."


class _Validator:
    """Turns raw rows into staging tuples, recording each bad cell as a Problem."""

    def __init__(self, source: Source, result: ImportResult) -> None:
        self.source = source
        self.result = result
        self.staged = 0  # rows yielded (a row without a tag is counted but not yielded)
        self.columns = source.columns
        # field -> (its bit in `given`, its memo or None, its staging parser)
        self.plan: dict[str, tuple[int, dict[str, Any] | None, Callable[[str], Any]]] = {
            f: (staging.BIT[f], {} if f in _MEMO_FIELDS else None, _STAGE[f]) for f in IMPORT_FIELDS
        }

    def problem(self, problem: Problem) -> None:
        self.result.problem_count += 1
        if len(self.result.problems) < MAX_PROBLEMS:
            self.result.problems.append(problem)

    def drain_reader_problems(self) -> None:
        pending = self.source.problems
        for problem in pending:
            self.problem(problem)
        pending.clear()

    def rows(self) -> Iterator[tuple[Any, ...]]:
        for raw in self.source.rows:
            self.drain_reader_problems()
            self.result.rows += 1
            staged = self.validate(raw)
            if staged is not None:
                self.staged += 1
                yield staged
        self.drain_reader_problems()

    def validate(self, raw: RawRow) -> tuple[Any, ...] | None:
        values: dict[str, Any] = {}
        given = 0
        ok = True
        plan = self.plan
        for name, cell in raw.values.items():
            bit, memo, stage = plan[name]
            text = cell
            if not text or text.isspace():
                if name in REQUIRED:
                    text = ""  # let the field parser say it must not be empty
                else:
                    if name != "status":  # an empty status means "the default"
                        given |= bit
                    continue
            if memo is not None and text in memo:
                value = memo[text]
            else:
                try:
                    value = stage(text)
                except InvalidInputError as exc:
                    reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
                    column = self.columns.get(name, name)
                    self.problem(Problem(raw.line, column, _shown(text), reason))
                    ok = False
                    continue
                if memo is not None and len(memo) < MEMO_MAX:
                    memo[text] = value
            given |= bit
            values[name] = value
        if values.get("tag") is None:
            return None
        get = values.get
        return (raw.line, ok, given, *[get(f) for f in IMPORT_FIELDS])


def _open(
    stream: BinaryIO,
    name: str,
    options: ImportOptions,
    progress: Callable[[int], None] | None,
) -> _Validator:
    fmt = detect_format(stream, name, options.format)
    source = open_source(
        stream,
        fmt,
        update=options.update,
        ignore_unknown=options.ignore_unknown,
        progress=progress,
    )
    result = ImportResult(
        format=source.format, dry_run=options.dry_run, ignored_columns=source.ignored
    )
    return _Validator(source, result)


def import_assets(
    session: Session,
    caller: Principal,
    stream: BinaryIO,
    name: str,
    options: ImportOptions,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate every row of `stream`, then (unless dry-run) create/update the assets.

    Raises ImportRejected listing every problem when any row is bad; nothing is written
    then. `progress` is called with the number of bytes read so far (from 0 again if the
    file is read a second time)."""
    require(caller, Permission.WRITE)
    actor = caller.email
    dialect = staging.dialect_of(session)
    if not dialect.postgres or options.update or options.dry_run:
        validator = _open(stream, name, options, progress)
        return _checked_import(session, actor, validator, options, dialect)
    with replay.rereadable(stream) as (first, again):
        validator = _open(first, name, options, progress)
        result = validator.result

        def still_clean() -> bool:
            return result.problem_count == 0 and result.rows == validator.staged

        savepoint = session.begin_nested()
        try:
            direct.insert_new(session, validator.rows(), still_clean, actor, datetime.now(UTC))
        except direct.NeedsChecks:
            savepoint.rollback()
        else:
            savepoint.commit()
            result.created = result.rows
            return result
        validator = _open(again(), name, options, progress)
        return _checked_import(session, actor, validator, options, dialect)


def _checked_import(
    session: Session,
    actor: str,
    validator: _Validator,
    options: ImportOptions,
    dialect: staging.Dialect,
) -> ImportResult:
    """The staging path: every row into the staging table, every check, then the write."""
    result, source = validator.result, validator.source
    staging.create_staging(session, dialect, for_write=not options.dry_run)
    try:
        staging.load_staging(session, dialect, validator.rows())
        staging.resolve(session, dialect, update=options.update)
        for problem in staging.find_problems(
            session,
            dialect,
            update=options.update,
            columns=source.columns,
            missing=source.missing,
        ):
            validator.problem(problem)
        if result.problem_count:
            result.problems.sort(key=lambda p: (p.line, p.column or ""))
            raise ImportRejected(result)
        expected = write.plan(session, dialect)
        result.created, result.updated = expected.create, expected.update
        result.unchanged = expected.unchanged
        if not options.dry_run:
            write.write(session, dialect, actor, datetime.now(UTC), expected)
    finally:
        staging.drop_staging(session, dialect)
    return result
