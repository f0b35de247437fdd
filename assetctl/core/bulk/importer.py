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

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from assetctl.core.assets.fields import PARSERS
from assetctl.core.assets.schema import FIELDS, REQUIRED, Kind, kind
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.bulk import dates, direct, replay, staging, write
from assetctl.core.bulk.reader import (
    IMPORT_FIELDS,
    Problem,
    RawRow,
    ReadOptions,
    Recipe,
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
    recipe: Recipe = field(default_factory=Recipe)  # --map, --date-format, --match, ...
    report_rows: bool = False  # list each row's action (the `-o json` report)

    def reading(self) -> ReadOptions:
        return ReadOptions(self.format, self.update, self.ignore_unknown, self.recipe)


@dataclass
class ImportResult:
    """What an import did (or, with --dry-run, would do)."""

    format: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    # Columns not kept, with why; columns kept in the notes block.
    ignored_columns: list[tuple[str, str]] = field(default_factory=list)
    noted_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    # {line, tag, action} per row, when asked for (ImportOptions.report_rows).
    actions: list[dict[str, object]] = field(default_factory=list)

    @property
    def wrote(self) -> bool:
        """Whether the import changed any asset (a re-run of the same file does not)."""
        return not self.dry_run and bool(self.created or self.updated)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "dry_run": self.dry_run,
            "ignored_columns": [{"column": c, "reason": r} for c, r in self.ignored_columns],
            "notes_columns": self.noted_columns,
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems],
            "actions": self.actions,
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


_DATE_FIELDS = tuple(f for f in IMPORT_FIELDS if kind(f) is Kind.DATE)
_MONEY_FIELDS = tuple(f for f in IMPORT_FIELDS if kind(f) is Kind.MONEY)
_MULTILINE_FIELDS = tuple(f.name for f in FIELDS if f.multiline and f.settable)


def _one_line_end(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A cell's CRLF and CR line ends as LF: a file's line ends are not part of the text."""
    return lambda raw: parse(raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw)


def _decimal_comma(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """1.299,50 -> 1299.50 (dots and spaces group thousands where the comma is decimal)."""
    return lambda raw: parse(raw.replace(".", "").replace(" ", "").replace(",", "."))


def _stages(
    options: ImportOptions, forms: Mapping[str, dates.Form] | None
) -> tuple[dict[str, Any], dates.Guess | None]:
    """Field -> staging parser for this import: dates by --date-format, else by the forms a
    first pass settled (`forms`), else tallied by a fresh Guess (returned too); money with
    --decimal-comma; multi-line text with any line end."""
    stages = dict(_STAGE)
    guess = dates.Guess() if forms is None and options.recipe.date_format is None else None
    for name in _DATE_FIELDS:
        form = guess or (forms or {}).get(name, dates.Form.AMBIGUOUS)
        stages[name] = _staged(dates.parser(name, options.recipe.date_format, form))
    if options.recipe.decimal_comma:
        for name in _MONEY_FIELDS:
            stages[name] = _decimal_comma(_STAGE[name])
    for name in _MULTILINE_FIELDS:
        stages[name] = _one_line_end(_STAGE[name])
    return stages, guess


class _Validator:
    """Turns raw rows into staging tuples, recording each bad cell as a Problem."""

    def __init__(
        self,
        source: Source,
        result: ImportResult,
        stages: Mapping[str, Callable[[str], Any]],
        match: str,
        guess: dates.Guess | None,
    ) -> None:
        self.source = source
        self.result = result
        self.match = match
        self.guess = guess
        self.staged = 0  # rows yielded (a row without a tag is counted but not yielded)
        self.columns = source.columns
        # field -> (its bit in `given`, its memo or None, its staging parser)
        self.plan: dict[str, tuple[int, dict[str, Any] | None, Callable[[str], Any]]] = {
            f: (staging.BIT[f], {} if f in _MEMO_FIELDS else None, stages[f]) for f in IMPORT_FIELDS
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
        if self.guess is not None:
            self.guess.settle()  # Reread if a date column was not month-first

    def validate(self, raw: RawRow) -> tuple[Any, ...] | None:
        values: dict[str, Any] = {}
        given = 0
        ok = True
        plan = self.plan
        for name, cell in raw.values.items():
            bit, memo, stage = plan[name]
            text = cell
            if not text or text.isspace():
                if name in REQUIRED and (name != "tag" or self.match == "tag"):
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
        if values.get("tag") is None and (self.match == "tag" or values.get("serial") is None):
            if ok and self.match != "tag":
                reason = f"the row has neither a {self.match} to match nor a tag for a new asset"
                self.problem(Problem(raw.line, None, None, reason))
            return None
        get = values.get
        return (raw.line, ok, given, *[get(f) for f in IMPORT_FIELDS])


def _open(
    stream: BinaryIO,
    fmt: str,
    options: ImportOptions,
    progress: Callable[[int], None] | None,
    forms: Mapping[str, dates.Form] | None,
) -> _Validator:
    source = open_source(stream, fmt, options.reading(), progress)
    result = ImportResult(
        format=source.format,
        dry_run=options.dry_run,
        ignored_columns=source.ignored,
        noted_columns=source.noted,
    )
    stages, guess = _stages(options, forms)
    return _Validator(source, result, stages, options.recipe.match, guess)


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
    fmt = detect_format(stream, name, options.format)
    recipe = options.recipe
    if fmt == "jsonl" and (recipe.columns or recipe.date_format or recipe.decimal_comma):
        raise InvalidInputError(
            "--map, --date-format and --decimal-comma apply to CSV files, not JSON Lines",
            hint="JSON Lines keys are the asset field names, with ISO dates and dot decimals",
        )
    with replay.rereadable(stream) as (first, again):
        try:
            # Undecided dates are read month-first; if a column turns out otherwise, the
            # attempt is rolled back and the file read again with the forms it showed.
            return _import(session, caller.email, first, again, fmt, options, progress, None)
        except dates.Reread as reread:
            forms = reread.forms
        return _import(session, caller.email, again(), again, fmt, options, progress, forms)


def _import(
    session: Session,
    actor: str,
    stream: BinaryIO,
    again: Callable[[], BinaryIO],
    fmt: str,
    options: ImportOptions,
    progress: Callable[[int], None] | None,
    forms: Mapping[str, dates.Form] | None,
) -> ImportResult:
    """One attempt, inside a savepoint (rolled back if it ends early or fails)."""
    dialect = staging.dialect_of(session)
    savepoint = session.begin_nested()
    try:
        fast = dialect.postgres and not (options.update or options.dry_run or options.report_rows)
        if fast:
            validator = _open(stream, fmt, options, progress, forms)
            result = validator.result

            def still_clean() -> bool:
                return result.problem_count == 0 and result.rows == validator.staged

            inner = session.begin_nested()
            try:
                direct.insert_new(session, validator.rows(), still_clean, actor, datetime.now(UTC))
            except direct.NeedsChecks:
                inner.rollback()
            else:
                inner.commit()
                result.created = result.rows
                savepoint.commit()
                return result
            stream = again()
        validator = _open(stream, fmt, options, progress, forms)
        result = _checked_import(session, actor, validator, options, dialect)
    except BaseException:
        _rollback_quietly(savepoint)
        raise
    savepoint.commit()
    return result


def _rollback_quietly(savepoint: Any) -> None:
    """Roll back a savepoint without hiding the error that made it necessary: SQLite ends
    the whole transaction on a full disk, taking its savepoints with it, and the rollback
    would then fail with "no such savepoint" instead of the disk's error."""
    from sqlalchemy.exc import SQLAlchemyError

    with contextlib.suppress(SQLAlchemyError):
        savepoint.rollback()


def _checked_import(
    session: Session,
    actor: str,
    validator: _Validator,
    options: ImportOptions,
    dialect: staging.Dialect,
) -> ImportResult:
    """The staging path: every row into the staging table, every check, then the write."""
    result, source = validator.result, validator.source
    match = options.recipe.match
    staging.create_staging(session, dialect, for_write=not options.dry_run)
    try:
        staging.load_staging(session, dialect, validator.rows())
        staging.resolve(session, dialect, update=options.update, match=match)
        for problem in staging.find_problems(
            session,
            dialect,
            update=options.update,
            columns=source.columns,
            missing=source.missing,
            match=match,
        ):
            validator.problem(problem)
        if result.problem_count:
            result.problems.sort(key=lambda p: (p.line, p.column or ""))
            raise ImportRejected(result)
        expected = write.plan(session, dialect, match)
        result.created, result.updated = expected.create, expected.update
        result.unchanged = expected.unchanged
        if options.report_rows:
            result.actions = write.actions(session, dialect, match)
        if not options.dry_run:
            write.write(session, dialect, actor, datetime.now(UTC), expected, match)
    finally:
        staging.drop_staging(session, dialect)
    return result
