"""The security policy's definer functions: `assetctl_policy` (read by the other functions
only), `assetctl_alert_channels` (which channels are configured, never their credentials:
any login), `assetctl_alert_credentials` (the channels' rows, for the admins and the cron
job that deliver alerts) and `assetctl_set_policy`, the only way to write `security_policy` (admin
EXECUTE). Keys, defaults and numeric ranges come from the catalogue,
`assetctl.core.security.policy.POLICY`.
"""

# SQL text here is built only from the catalogue's constants; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from assetctl.db.pg_functions import ADMIN, ALL, Function, refuse

INVALID = "22023"  # invalid_parameter_value


def functions() -> list[Function]:
    """The security policy: read by the login functions, written only by an admin."""
    from assetctl.core.security.policy import CHANNELS, POLICY

    defaults = " ".join(f"WHEN {_literal(p.key)} THEN {_literal(p.default)}" for p in POLICY)
    keys = ", ".join(_literal(p.key) for p in POLICY)
    channel_keys = ", ".join(_literal(key) for keys in CHANNELS.values() for key in keys)
    checks = " ".join(
        # Parenthesised: plpgsql ends an IF condition at the first THEN outside parentheses.
        f"IF p_key = {_literal(p.key)} AND NOT (CASE WHEN p_value ~ '^[0-9]{{1,12}}$' THEN "
        f"p_value::bigint BETWEEN {p.bounds[0]} AND {p.bounds[1]} ELSE false END) THEN "
        f"RAISE EXCEPTION USING ERRCODE = '{INVALID}', MESSAGE = 'value out of range'; END IF;"
        for p in POLICY
        if p.bounds
    )
    return [
        Function(
            "assetctl_policy",
            "p_key text",
            "text",
            "SELECT COALESCE((SELECT value FROM security_policy WHERE key = p_key), "
            f"CASE p_key {defaults} END)",
            # Only for the other functions: it runs as the owner, so a client calling it
            # would read the channels' credentials past the table's row policy.
            (),
            "sql",
            "STABLE",
        ),
        Function(
            # Which channels are configured, never their credentials: every login queues
            # its alerts' deliveries, but only admins read the channels' rows.
            "assetctl_alert_channels",
            "",
            "text[]",
            "SELECT array_remove(ARRAY["
            + ", ".join(
                f"CASE WHEN {_all_set(keys)} THEN {_literal(name)} END"
                for name, keys in CHANNELS.items()
            )
            + "], NULL)",
            ALL,
            "sql",
            "STABLE",
        ),
        Function(
            # The delivering path: the channels' stored rows, credentials included, for the
            # admins' clients and the cron job that send pending alerts (no client SELECTs
            # them, see assetctl.db.grants.POLICIES).
            "assetctl_alert_credentials",
            "",
            "TABLE (o_key text, o_value text, o_updated_at timestamptz, o_updated_by text)",
            "BEGIN IF NOT assetctl_is_admin() THEN "
            + refuse("only an admin or the alert cron job may read the alert channels")
            + " END IF; RETURN QUERY SELECT key::text, value, updated_at, updated_by::text "
            f"FROM security_policy WHERE key IN ({channel_keys}); END",
            ADMIN,
            volatility="STABLE",
        ),
        Function(
            "assetctl_set_policy",
            "p_key text, p_value text, p_by text",
            "void",
            f"BEGIN IF p_key IS NULL OR p_key NOT IN ({keys}) OR p_value IS NULL THEN "
            f"RAISE EXCEPTION USING ERRCODE = '{INVALID}', MESSAGE = 'unknown policy key'; "
            f"END IF; {checks} INSERT INTO security_policy (key, value, updated_at, updated_by) "
            "VALUES (p_key, p_value, now(), left(COALESCE(p_by, session_user::text), 320)) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = "
            "EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by; END",
            ADMIN,
        ),
    ]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _all_set(keys: tuple[str, ...]) -> str:
    tests = [f"assetctl_policy({_literal(key)}) <> ''" for key in keys]
    return " AND ".join(tests) or "true"
