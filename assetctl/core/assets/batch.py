"""Many assets per command: `asset update|assign|unassign|delete|restore REF... [--from FILE]`.

Every item runs through the same per-asset function a single command uses
(`commands.py`). By default the batch is all or nothing: if any item fails, every failure
is reported and the transaction is rolled back, so items need no savepoints (two round
trips each) and a failed item's partial change goes with the rest. With
`continue_on_error` each item runs in its own savepoint, so a failing item leaves no trace,
and the successes are committed in the command's one transaction. Either way the exit
status is the most severe failure (`errors.most_severe`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assetctl.core.assets import commands, history, lookup
from assetctl.core.assets.batch_input import Item
from assetctl.core.assets.fields import PARSERS, parse_fields
from assetctl.core.assets.schema import UPDATE_FIELDS
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.errors import AssetctlError, ExitStatus, InvalidInputError, most_severe

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# What a batch command prints per item (`-o json/jsonl/csv`), and the columns people see.
RESULT_FIELDS = ("line", "ref", "ok", "result", "code", "message", "asset")
RESULT_COLUMNS = ("line", "ref", "result", "message")


def _update(session: Session, caller: Principal, item: Item) -> commands.Change:
    fields = parse_fields(item.values, clearing=True)
    return commands.update_asset(session, caller, _ref(item), fields, if_version=item.if_version)


def _assign(session: Session, caller: Principal, item: Item) -> commands.Change:
    to = item.values.get("to")
    if to is None:
        raise InvalidInputError("no person to assign to", hint='pass --to or give "to" per line')
    person = PARSERS["assignee"](to)
    return commands.assign_asset(session, caller, _ref(item), person, if_version=item.if_version)


def _plain(fn: Callable[..., commands.Change]) -> Callable[..., commands.Change]:
    def apply(session: Session, caller: Principal, item: Item) -> commands.Change:
        return fn(session, caller, _ref(item), if_version=item.if_version)

    return apply


def _ref(item: Item) -> str:
    assert item.ref is not None  # items without a ref carry an error and never run
    return item.ref


@dataclass(frozen=True)
class Operation:
    """One batch command: its permission, the per-line fields of its JSON Lines, the
    per-asset step, and the word for a success."""

    permission: Permission
    keys: tuple[str, ...]
    apply: Callable[[Session, Principal, Item], commands.Change]
    done: str
    # The single-asset core function `(session, caller, ref)` the CLI runs for one REF.
    step: Callable[..., commands.Change] | None = None


def _by_ref(permission: Permission, step: Callable[..., commands.Change], done: str) -> Operation:
    """An operation that needs nothing but the REF (and an optional if_version)."""
    return Operation(permission, (), _plain(step), done, step)


OPERATIONS: dict[str, Operation] = {
    "update": Operation(Permission.WRITE, UPDATE_FIELDS, _update, "updated"),
    "assign": Operation(Permission.WRITE, ("to",), _assign, "assigned"),
    "unassign": _by_ref(Permission.WRITE, commands.unassign_asset, "unassigned"),
    "delete": _by_ref(Permission.DELETE, commands.delete_asset, "deleted"),
    "restore": _by_ref(Permission.DELETE, commands.restore_asset, "restored"),
}


@dataclass(frozen=True)
class ItemResult:
    line: int
    ref: str | None
    result: str  # the operation's word, "unchanged", or "failed"
    code: int = 0
    message: str | None = None
    asset: Mapping[str, Any] | None = None
    hint: str | None = None  # shown when the batch was one item (`register --self`)

    @property
    def ok(self) -> bool:
        return self.code == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "ref": self.ref,
            "ok": self.ok,
            "result": self.result,
            "code": self.code,
            "message": self.message,
            "asset": self.asset,
        }


def _failed(item: Item, error: AssetctlError) -> ItemResult:
    return failed_result(item.line, item.ref, error)


def failed_result(line: int, ref: str | None, error: AssetctlError) -> ItemResult:
    return ItemResult(line, ref, "failed", int(error.exit_status), error.message, hint=error.hint)


@dataclass(frozen=True)
class BatchOutcome:
    results: Sequence[ItemResult]

    @property
    def failures(self) -> list[ItemResult]:
        return [r for r in self.results if not r.ok]

    @property
    def exit_status(self) -> int:
        return most_severe(r.code for r in self.results)


class BatchFailed(AssetctlError):
    """Some items failed. Raised inside the transaction when the batch is all or nothing
    (nothing is written), or after the commit with `continue_on_error`."""

    kind = "batch_failed"

    def __init__(self, outcome: BatchOutcome, *, committed: bool) -> None:
        failed, total = len(outcome.failures), len(outcome.results)
        tail = f"the other {total - failed} were saved" if committed else "nothing was written"
        super().__init__(
            f"{failed} of {total} item{'s' if total != 1 else ''} failed; {tail}",
            hint=None
            if committed
            else "fix the items listed above, or pass --continue-on-error to save the others",
        )
        self.outcome = outcome
        self.exit_status = ExitStatus(outcome.exit_status)


def run_batch(
    session: Session,
    caller: Principal,
    operation: str,
    items: Sequence[Item],
    *,
    continue_on_error: bool = False,
    on_result: Callable[[ItemResult], None] = lambda _result: None,
) -> BatchOutcome:
    """Apply `operation` to every item, each in its own savepoint, reporting each result to
    `on_result` as it is known. Raises BatchFailed (and the caller's transaction rolls back)
    when an item failed and `continue_on_error` is off."""
    op = OPERATIONS[operation]
    require(caller, op.permission)
    if not items:
        raise InvalidInputError("no assets given", hint="pass REFs or --from FILE")
    if operation != "restore":  # restore looks among deleted assets
        lookup.preload(session, [item.ref for item in items if item.ref and not item.error])
    results = []
    first_line: dict[str, int] = {}  # ref -> line it first appeared on
    done_ids: dict[int, int] = {}  # asset id -> line that changed it
    # One INSERT for the whole batch's history, rather than a round trip per item.
    with history.deferred_history(session) as events:
        for item in items:
            mark = len(events)
            result = _run_item(
                session, caller, op, item, first_line, done_ids, isolate=continue_on_error
            )
            if not result.ok:
                del events[mark:]  # its savepoint (if any) undid the change itself
            results.append(result)
            on_result(result)
        outcome = BatchOutcome(results)
        if outcome.failures and not continue_on_error:
            raise BatchFailed(outcome, committed=False)
    return outcome


def _run_item(
    session: Session,
    caller: Principal,
    op: Operation,
    item: Item,
    first_line: dict[str, int],
    done_ids: dict[int, int],
    *,
    isolate: bool,
) -> ItemResult:
    if item.error is not None:
        return _failed(item, item.error)
    ref = _ref(item).strip()
    if ref in first_line:
        return _failed(item, _twice(ref, first_line[ref]))
    first_line[ref] = item.line
    try:
        with session.begin_nested() if isolate else nullcontext():
            change = op.apply(session, caller, item)
            asset_id = int(change.asset["id"])
            if asset_id in done_ids:  # the same asset by tag and by id
                raise _twice(ref, done_ids[asset_id])
    except AssetctlError as error:
        if not isolate and not session.is_active:
            # A failed flush (a race on a unique index) ends the transaction. Nothing of
            # the batch will be written; a fresh one lets the other items still be checked.
            session.rollback()
        return _failed(item, error)
    done_ids[asset_id] = item.line
    word = op.done if change.changed else "unchanged"
    return ItemResult(item.line, item.ref, word, asset=change.asset)


def _twice(ref: str, first: int) -> InvalidInputError:
    return InvalidInputError(
        f"asset {ref} appears twice in the batch (first on line {first})",
        hint="give each asset once",
    )
