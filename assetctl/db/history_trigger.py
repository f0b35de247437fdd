"""Asset history written by PostgreSQL itself: statement-level triggers on `assets` (with
transition tables, so a bulk import costs one INSERT ... SELECT, not one call per row) add an
`asset_events` row for every inserted or changed asset in the same transaction, whoever
wrote it and however (the CLI, an import's COPY, or plain SQL in psql).

The `changes` JSON is exactly what the CLI wrote before (`{"field": {"old": .., "new": ..}}`
for the changed fields only, cost as a decimal string, dates and times in Python's ISO
form). The audited columns come from the field catalogue (`core/assets/schema.py`), so a
new field is audited by the next `assetctl db upgrade` without a new migration. The event
records the database login (`db_user`, from `session_user`: not forgeable); the app's
actor and action come from `SET LOCAL assetctl.actor / assetctl.action` when the CLI set
them, else the login and `created`/`updated`. Changes to one asset within one transaction
fold into one event (an import that swaps serials releases them first; history shows only
old -> final). An UPDATE that changes only bookkeeping columns (version, created_by, ...),
which the CLI never does alone, is recorded with those, so no plain-SQL change goes
unrecorded.
"""

# SQL text here is built only from constants, model column names and identifiers validated
# by assetctl.db.roles; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

TRIGGER_FUNCTION = "assetctl_asset_history"
ACTOR_SETTING = "assetctl.actor"
ACTION_SETTING = "assetctl.action"


def audited_columns(bookkeeping: bool = False) -> list[tuple[str, str, str]]:
    """(column, public field name, kind) of every audited `assets` column (with
    `bookkeeping`: of the bookkeeping columns instead); kind is one of cents, timestamp,
    json, plain."""
    from assetctl.core.assets.schema import FIELDS, Kind

    kinds = {Kind.MONEY: "cents", Kind.TIMESTAMP: "timestamp", Kind.JSON: "json"}
    return [
        (f.column, f.name, kinds.get(f.kind, "plain"))
        for f in FIELDS
        if f.audited != bookkeeping and f.kind is not Kind.ID
    ]


def _json_text(expr: str, kind: str) -> str:
    """SQL text of the JSON value the CLI stores for `expr` ('null' for NULL)."""
    if kind == "cents":
        value = f"({expr} / 100)::text || '.' || lpad(({expr} % 100)::text, 2, '0')"
        return f"COALESCE(to_json({value})::text, 'null')"
    if kind == "timestamp":
        # Python's isoformat(): microseconds only when not zero, offset +00:00.
        utc = f"({expr} AT TIME ZONE 'UTC')"
        value = (
            f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN to_char({utc}, 'US') = "
            f"'000000' THEN '' ELSE '.' || to_char({utc}, 'US') END || '+00:00'"
        )
        return f"COALESCE(to_json({value})::text, 'null')"
    if kind == "json":
        return f"COALESCE({expr}::text, 'null')"
    return f"COALESCE(to_json({expr})::text, 'null')"


def _distinct(old: str, new: str, kind: str) -> str:
    if kind == "json":  # json has no equality; JSON null and SQL NULL are both "no value"
        return f"NULLIF({old}::jsonb, 'null'::jsonb) IS DISTINCT FROM NULLIF({new}::jsonb, 'null'::jsonb)"  # noqa: E501
    return f"{old} IS DISTINCT FROM {new}"


def _object(items: list[str]) -> str:
    return "'{' || concat_ws(', ', " + ", ".join(items) + ") || '}'"


def created_changes(row: str = "n") -> str:
    """JSON text of a new asset's changes: its non-null audited fields."""
    return _object(
        [
            f'CASE WHEN {row}.{col} IS NOT NULL THEN \'"{field}": {{"old": null, "new": \' '
            f"|| {_json_text(f'{row}.{col}', kind)} || '}}' END"
            for col, field, kind in audited_columns()
        ]
    )


def updated_changes(old: str = "o", new: str = "n", *, bookkeeping: bool = False) -> str:
    """JSON text of an update's changes: the audited fields whose value changed."""
    return _object(
        [
            f"CASE WHEN {_distinct(f'{old}.{col}', f'{new}.{col}', kind)} THEN "
            f'\'"{field}": {{"old": \' || {_json_text(f"{old}.{col}", kind)} || '
            f"', \"new\": ' || {_json_text(f'{new}.{col}', kind)} || '}}' END"
            for col, field, kind in audited_columns(bookkeeping)
        ]
    )


def _update_sql() -> str:
    """The UPDATE branch: one event per changed asset, folded into an earlier event of the
    same transaction (`xact`) when there is one, and dropped when the fold cancels out."""
    return f"""
  WITH computed AS MATERIALIZED (
    -- Data fields as the CLI records them; an UPDATE that changed only bookkeeping
    -- (created_by, version, ...: never done by the CLI alone) is recorded with those.
    SELECT n.id AS asset_id, {updated_changes()} AS changes,
           {updated_changes(bookkeeping=True)} AS extra,
           CASE WHEN n.updated_at IS DISTINCT FROM o.updated_at THEN n.updated_at
                ELSE now() END AS at
    FROM new_rows n JOIN old_rows o ON o.id = n.id
  ), live AS (
    SELECT * FROM computed WHERE changes <> '{{}}' OR extra <> '{{}}'
  ), prior AS (
    SELECT DISTINCT ON (e.asset_id) e.id, e.asset_id, e.changes::jsonb AS before,
           l.changes::jsonb AS after
    FROM asset_events e JOIN live l ON l.asset_id = e.asset_id
    WHERE e.xact = txid_current()
    ORDER BY e.asset_id, e.id DESC
  ), merged AS (
    SELECT p.id, p.before, (
      SELECT COALESCE(jsonb_object_agg(k, jsonb_build_object('old', o, 'new', w)), '{{}}')
      FROM (
        SELECT k, CASE WHEN p.before ? k THEN p.before -> k -> 'old'
                       ELSE p.after -> k -> 'old' END AS o,
                  CASE WHEN p.after ? k THEN p.after -> k -> 'new'
                       ELSE p.before -> k -> 'new' END AS w
        FROM (SELECT jsonb_object_keys(p.before) UNION
              SELECT jsonb_object_keys(p.after)) AS keys(k)
      ) AS pairs WHERE o IS DISTINCT FROM w
    ) AS changes FROM prior p
  ), folded AS (
    UPDATE asset_events e SET changes = m.changes::json
    FROM merged m WHERE e.id = m.id AND m.changes <> '{{}}'::jsonb
      AND m.changes <> m.before RETURNING e.id
  ), undone AS (
    DELETE FROM asset_events e USING merged m
    WHERE e.id = m.id AND m.changes = '{{}}'::jsonb RETURNING e.id
  )
  INSERT INTO asset_events (asset_id, action, actor, at, changes, db_user, xact)
  SELECT l.asset_id, COALESCE(v_action, 'updated'), v_actor, l.at,
         (CASE WHEN l.changes <> '{{}}' THEN l.changes ELSE l.extra END)::json,
         session_user, txid_current()
  FROM live l WHERE NOT EXISTS (SELECT 1 FROM prior p WHERE p.asset_id = l.asset_id)
  ORDER BY l.asset_id;
"""


def function_sql(schema: str) -> str:
    """The trigger function (owned by the owner role; SECURITY DEFINER so no client role
    needs any grant on asset_events).

    `plan_cache_mode = force_custom_plan` holds for the foreign-key checks of its INSERT
    too: an import COPYs in growing blocks, and a generic plan cached while `assets` was
    nearly empty (a sequential scan) would make every later check scan the whole table."""
    # Imported here: every asset write imports this module for the two setting names.
    from assetctl.db.roles import quote

    path = f"pg_catalog, {quote(schema)}, pg_temp"
    actor = (
        f"left(COALESCE(NULLIF(current_setting('{ACTOR_SETTING}', true), ''), "
        "session_user::text), 320)"
    )
    action = f"left(NULLIF(current_setting('{ACTION_SETTING}', true), ''), 32)"
    return f"""
CREATE OR REPLACE FUNCTION {TRIGGER_FUNCTION}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path}
SET plan_cache_mode = force_custom_plan AS $fn$
DECLARE
  v_actor text := {actor};
  v_action text := {action};
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO asset_events (asset_id, action, actor, at, changes, db_user, xact)
    SELECT n.id, COALESCE(v_action, 'created'), v_actor, COALESCE(n.updated_at, now()),
           ({created_changes()})::json, session_user, txid_current()
    FROM new_rows n ORDER BY n.id;
    RETURN NULL;
  END IF;
{_update_sql()}  RETURN NULL;
END
$fn$"""


def trigger_sql() -> list[str]:
    """(Re)create the two triggers: transition tables allow only one event per trigger."""
    statements = []
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        name = f"assets_history_{event.lower()}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON assets",
            f"CREATE TRIGGER {name} AFTER {event} ON assets REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER_FUNCTION}()",
        ]
    return statements
