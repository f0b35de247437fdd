"""The cache's side of PostgreSQL: the data generation, bumped by the database itself, and
the one-round-trip probe a cache hit makes.

Generation: every statement that changes rows of `assets` (the CLI, an import's COPY, plain
SQL in psql, with or without Redis configured) fires a statement-level trigger that inserts this
transaction's id into `cache_pending` (once per transaction); a DEFERRED constraint trigger
on that row bumps `cache_generations` at commit and removes the row. The bump is therefore
part of the writing transaction (it becomes visible with the data, and vanishes with a
rollback), and the counter's row is locked only while a writer commits, so writers neither
queue behind each other's whole transactions nor deadlock on it. No client role holds any
grant on either table: only these owner-defined triggers write them, so a client can neither
set the counter back nor skip a bump.

Only `assets` feeds cached answers (`asset list`, `asset show`); the history is written by
the database in the same statement. Nothing about the caller is cached: every hit checks
the session in the database (`assetctl_cache_probe`), so users, sessions and logins need no
generation of their own.

Probe: `assetctl_cache_probe(token)` verifies the token with `assetctl_verify_token` (the one
verification), checks the login may read `assets`, and hands back the cache namespace, the
schema revision, the generation and the key that signs entries of that generation (an HMAC of
the generation under a key derived from the signing key, which never leaves the database).
"""

# SQL text here is built only from constants; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from assetctl.db.pg_functions import ALL, Function
from assetctl.db.pg_tokens import KEY

DATA = "data"
TOUCH_FUNCTION = "assetctl_cache_touch"
BUMP_FUNCTION = "assetctl_cache_bump"
_TOUCH_TRIGGERS = {
    "INSERT": "REFERENCING NEW TABLE AS changed_rows",
    "UPDATE": "REFERENCING NEW TABLE AS changed_rows",
    "DELETE": "REFERENCING OLD TABLE AS changed_rows",
    "TRUNCATE": "",
}
_QUEUE = "INSERT INTO cache_pending (xact) VALUES (txid_current()) ON CONFLICT DO NOTHING;"
_BUMP_TRIGGER = "cache_pending_bump"

_CLUSTER = (
    # The cluster's identifier tells copies restored into another cluster apart; the owner
    # may not be allowed to read it, then the key and database name have to do.
    "IF has_function_privilege('pg_control_system()', 'EXECUTE') THEN "
    "SELECT system_identifier::text INTO v_cluster FROM pg_control_system(); END IF; "
)


def functions() -> list[Function]:
    """The cache's functions: the two triggers' functions, the namespace and the probe."""
    return [
        Function(
            TOUCH_FUNCTION,
            "",
            "trigger",
            # A statement that changed no row (an UPDATE matching nothing) makes nothing
            # stale. The ELSIF is planned only where the trigger has the transition table.
            f"IF TG_OP = 'TRUNCATE' THEN {_QUEUE} "
            f"ELSIF EXISTS (SELECT 1 FROM changed_rows) THEN {_QUEUE} END IF; RETURN NULL;",
            (),
        ),
        Function(
            BUMP_FUNCTION,
            "",
            "trigger",
            f"UPDATE cache_generations SET value = value + 1 WHERE name = '{DATA}'; "
            "DELETE FROM cache_pending WHERE xact = NEW.xact; RETURN NULL;",
            (),
        ),
        Function(
            "assetctl_cache_namespace",
            "",
            "text",
            # Names this database for the cache (a digest, never the key itself): every URL
            # spelling of it agrees, and a copy under another name or cluster does not.
            "DECLARE v_cluster text := ''; BEGIN "
            + _CLUSTER
            + "RETURN left(encode(sha256(convert_to('assetctl-namespace:' || "
            f"{KEY} || '|' || current_database() || '|' || v_cluster, 'UTF8')), 'hex'), 20); END",
            ALL,
            volatility="STABLE",
        ),
        _probe(),
    ]


def _probe() -> Function:
    return Function(
        "assetctl_cache_probe",
        "p_token text",
        "TABLE (o_reason text, o_role text, o_namespace text, o_revision text, "
        "o_generation bigint, o_mac_key text)",
        "DECLARE v record; BEGIN "
        "SELECT * INTO v FROM assetctl_verify_token(p_token); "
        "IF v.o_reason IS NOT NULL THEN o_reason := v.o_reason; RETURN NEXT; RETURN; END IF; "
        # A login stripped of its group role by hand must not read through the cache either.
        "IF NOT has_table_privilege(session_user, 'assets', 'SELECT') THEN "
        "o_reason := 'this login may not read assets'; RETURN NEXT; RETURN; END IF; "
        "SELECT role INTO o_role FROM users WHERE id = v.o_user_id; "
        f"SELECT value INTO o_generation FROM cache_generations WHERE name = '{DATA}'; "
        "SELECT version_num INTO o_revision FROM alembic_version LIMIT 1; "
        "o_namespace := assetctl_cache_namespace(); "
        "o_mac_key := encode(assetctl_hmac_sha256(convert_to('assetctl-cache-mac:' || "
        f"{KEY}, 'UTF8'), convert_to(o_namespace || ':' || o_generation, 'UTF8')), 'hex'); "
        "RETURN NEXT; END",
        ALL,
        volatility="STABLE",
    )


def trigger_sql() -> list[str]:
    """(Re)create the triggers that bump the generation in every writing transaction: one
    per event on `assets` (a transition table belongs to one event only), and the deferred
    one on `cache_pending`."""
    statements = []
    for event, tables in _TOUCH_TRIGGERS.items():
        name = f"assets_cache_{event.lower()}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON assets",
            f"CREATE TRIGGER {name} AFTER {event} ON assets {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {TOUCH_FUNCTION}()",
        ]
    return [
        *statements,
        f"DROP TRIGGER IF EXISTS {_BUMP_TRIGGER} ON cache_pending",
        f"CREATE CONSTRAINT TRIGGER {_BUMP_TRIGGER} AFTER INSERT ON cache_pending "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {BUMP_FUNCTION}()",
    ]
