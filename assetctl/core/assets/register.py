"""`asset register --self | --facts FILE`: machines that register themselves.

A machine is matched to a live asset by serial, then by hardware UUID (in either byte
order), never by host name alone. A match gets the facts that changed (one `updated` event);
an unchanged machine writes nothing. An unknown machine becomes a new asset, created with
the others in one multi-row INSERT (`commands.create_assets`), so a fleet job can register
thousands of machines in one command. Results reuse the batch engine's types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assetctl.core.assets import commands
from assetctl.core.assets.batch import BatchFailed, BatchOutcome, ItemResult, failed_result
from assetctl.core.assets.fields import PARSERS
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.facts.model import Machine, swapped_uuid
from assetctl.errors import AssetctlError, ConflictError, InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# When the chassis says nothing (a VM, an unknown code) and no --category is given.
DEFAULT_CATEGORY = "computer"
_CHUNK = 500  # values per IN (...) list: far below every driver's parameter limit


@dataclass(frozen=True)
class RegisterOptions:
    tag: str | None = None
    tag_prefix: str = ""
    category: str | None = None
    dry_run: bool = False
    continue_on_error: bool = False
    # What to tell a user whose machine has no usable serial or UUID.
    identity_hint: str = "pass --tag T and --serial S"


@dataclass
class _Plan:
    line: int
    ref: str
    values: dict[str, Any]
    match: dict[str, Any] | None = None
    error: AssetctlError | None = None
    chassis: str | None = None


def register_machines(
    session: Session,
    caller: Principal,
    machines: Sequence[Machine],
    options: RegisterOptions,
    on_result: Callable[[ItemResult], None] = lambda _result: None,
) -> BatchOutcome:
    """Match, update or create every machine; all or nothing unless `continue_on_error`
    (then BatchFailed after the commit is the caller's to raise). With `dry_run` nothing is
    written and results say what would happen."""
    require(caller, Permission.WRITE)
    if options.tag is not None and len(machines) > 1:
        raise InvalidInputError("--tag names one machine", hint="use --tag-prefix for many")
    plans = [_plan(m, options) for m in machines]
    _check_batch(plans)
    _find_matches(session, plans)
    _check_tags(session, plans, options)
    results = _apply(session, caller, plans, options)
    for result in results:
        on_result(result)
    outcome = BatchOutcome(results)
    if outcome.failures and not options.continue_on_error:
        raise BatchFailed(outcome, committed=False)
    return outcome


def _plan(machine: Machine, options: RegisterOptions) -> _Plan:
    facts = machine.facts
    if machine.error is not None or facts is None:
        error = machine.error or InvalidInputError("no facts")
        return _Plan(machine.line, "", {}, error=error)
    ref = facts.serial or facts.hardware_uuid or ""
    if not ref:
        why = "; ".join(f"{d} is a placeholder" for d in facts.dropped) or "none was reported"
        error = InvalidInputError(
            f"the machine has no usable serial number or hardware UUID ({why})",
            hint=options.identity_hint,
        )
        return _Plan(machine.line, facts.hostname or "", {}, error=error)
    try:
        values = {k: PARSERS[k](v) for k, v in facts.asset_values().items() if v is not None}
    except InvalidInputError as exc:
        return _Plan(machine.line, ref, {}, error=exc)
    return _Plan(machine.line, ref, values, chassis=facts.chassis)


def _check_batch(plans: Sequence[_Plan]) -> None:
    """One machine per serial and per UUID in a batch: a serial reported with two UUIDs (or
    a UUID with two serials) is a conflict on every line involved; an exact repeat is bad
    input on the later line."""
    for key, other in (("serial", "hardware_uuid"), ("hardware_uuid", "serial")):
        groups: dict[str, list[_Plan]] = {}
        for plan in plans:
            if plan.error is None and plan.values.get(key):
                groups.setdefault(str(plan.values[key]).lower(), []).append(plan)
        for group in groups.values():
            if len({p.values.get(other) for p in group}) > 1:
                lines = ", ".join(str(p.line) for p in group)
                for plan in group:
                    plan.error = ConflictError(
                        f"{key} {plan.values[key]} is reported with different "
                        f"{other.replace('_', ' ')}s on lines {lines}",
                        hint="two machines cannot share one; check the facts",
                    )
            else:
                for plan in group[1:]:
                    plan.error = InvalidInputError(
                        f"the machine appears twice in the batch (first on line {group[0].line})"
                    )


def _find_matches(session: Session, plans: Sequence[_Plan]) -> None:
    from sqlalchemy import or_, select

    from assetctl.db.tables import assets_table

    cols = assets_table.c
    live = [p for p in plans if p.error is None]
    serials = sorted({p.values["serial"] for p in live if p.values.get("serial")})
    uuids = {u for p in live if (u := p.values.get("hardware_uuid"))}
    uuids |= {swapped_uuid(u) for u in uuids}
    by_serial: dict[str, dict[str, Any]] = {}
    by_uuid: dict[str, dict[str, Any]] = {}
    for key, wanted in (("serial", serials), ("hardware_uuid", sorted(uuids))):
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            stmt = select(assets_table).where(cols.deleted_at.is_(None), or_(cols[key].in_(chunk)))
            for row in session.execute(stmt).mappings():
                asset = commands.asset_record(dict(row))
                (by_serial if key == "serial" else by_uuid)[asset[key]] = asset
    for plan in live:
        serial, uuid = plan.values.get("serial"), plan.values.get("hardware_uuid")
        on_serial = by_serial.get(serial) if serial else None
        on_uuid = (by_uuid.get(uuid) or by_uuid.get(swapped_uuid(uuid))) if uuid else None
        if on_serial and on_uuid and on_serial["id"] != on_uuid["id"]:
            plan.error = ConflictError(
                f"serial {serial} is asset {on_serial['tag']} but hardware UUID {uuid} is "
                f"asset {on_uuid['tag']}",
                hint="fix one of the two assets first",
            )
        plan.match = on_serial or on_uuid


def _check_tags(session: Session, plans: Sequence[_Plan], options: RegisterOptions) -> None:
    """Tag, name and category of each new asset; a tag already used is a conflict."""
    from sqlalchemy import select

    from assetctl.db.tables import assets_table

    new = [p for p in plans if p.error is None and p.match is None]
    for plan in new:
        try:
            _name_new(plan, options)
        except InvalidInputError as exc:
            plan.error = exc
    tags = sorted({p.values["tag"] for p in new if p.error is None})
    cols, taken = assets_table.c, set()
    for start in range(0, len(tags), _CHUNK):
        stmt = select(cols.tag).where(
            cols.deleted_at.is_(None), cols.tag.in_(tags[start : start + _CHUNK])
        )
        taken |= set(session.execute(stmt).scalars())
    seen: dict[str, int] = {}
    for plan in (p for p in new if p.error is None):
        tag = plan.values["tag"]
        if tag in taken or tag in seen:
            where = "another asset" if tag in taken else f"line {seen[tag]}"
            plan.error = ConflictError(
                f"tag {tag} is already used by {where}", hint="pass another --tag or --tag-prefix"
            )
        seen.setdefault(tag, plan.line)


def _name_new(plan: _Plan, options: RegisterOptions) -> None:
    values = plan.values
    base = values.get("serial") or str(values["hardware_uuid"])[:8].upper()
    values["tag"] = PARSERS["tag"](options.tag or f"{options.tag_prefix}{base}")
    label = " ".join(str(values[k]) for k in ("manufacturer", "model") if values.get(k))
    values["name"] = PARSERS["name"](label or values.get("hostname") or values["tag"])
    category = options.category or plan.chassis or DEFAULT_CATEGORY
    values["category"] = PARSERS["category"](category)


def _changes(plan: _Plan) -> dict[str, Any]:
    match = plan.match or {}
    changes = {k: v for k, v in plan.values.items() if match.get(k) != v}
    uuid = changes.get("hardware_uuid")
    if uuid is not None and match.get("hardware_uuid") == swapped_uuid(uuid):
        del changes["hardware_uuid"]  # the same UUID, printed in the other byte order
    return changes


def _apply(
    session: Session, caller: Principal, plans: Sequence[_Plan], options: RegisterOptions
) -> list[ItemResult]:
    results: dict[int, ItemResult] = {}
    creates: list[int] = []
    for index, plan in enumerate(plans):
        if plan.error is not None:
            results[index] = _failed(plan, plan.error)
        elif plan.match is None:
            creates.append(index)
        elif not (changes := _changes(plan)):
            results[index] = ItemResult(plan.line, plan.ref, "unchanged", asset=plan.match)
        elif options.dry_run:
            results[index] = ItemResult(plan.line, plan.ref, "would update", asset=plan.match)
        else:
            results[index] = _update(session, caller, plan, changes)
    ok = options.continue_on_error or all(r.ok for r in results.values())
    rows = [plans[i].values for i in creates]
    if rows and ok and not options.dry_run:
        rows = commands.create_assets(session, caller, rows, action="registered")
    word = "would create" if options.dry_run else "created"
    for index, row in zip(creates, rows, strict=True):
        results[index] = ItemResult(plans[index].line, plans[index].ref, word, asset=row)
    return [results[i] for i in range(len(plans))]


def _update(
    session: Session, caller: Principal, plan: _Plan, changes: dict[str, Any]
) -> ItemResult:
    assert plan.match is not None
    try:
        with session.begin_nested():
            change = commands.update_asset(
                session, caller, f"id:{plan.match['id']}", changes, if_version=None
            )
    except AssetctlError as exc:
        return _failed(plan, exc)
    return ItemResult(plan.line, plan.ref, "updated", asset=change.asset)


def _failed(plan: _Plan, error: AssetctlError) -> ItemResult:
    return failed_result(plan.line, plan.ref or None, error)
