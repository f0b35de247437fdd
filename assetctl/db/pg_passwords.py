"""Passwords checked inside PostgreSQL by server relief, so no client reads a hash.

Argon2id cannot run inside PostgreSQL. The client derives the Argon2id output from the
password and the parameters and salt `assetctl_login_salt` hands out (a stable fake salt,
derived from the database's secret key, for an unknown email: the answer does not tell
whether an account exists); `assetctl_login_attempt` (assetctl.db.pg_attempts) compares
SHA-256 of that output with the stored verifier. The stored
`relief$M$T$P$LEN$SALT$VERIFIER` is not a password equivalent. A hash of an earlier
release (`$argon2id$...`, which holds the Argon2id output itself) is still accepted and
replaced by its verifier at the first login.
"""

# SQL text here is built only from constants; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from assetctl.core.auth.passwords import CURRENT, RELIEF, SALT_BYTES
from assetctl.db.pg_functions import ALL, Function
from assetctl.db.pg_tokens import KEY

_LEGACY = (
    r"^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$"
)
RELIEF_PATTERN = rf"^{RELIEF}\$[0-9]+\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9+/]+\$[0-9a-f]{{64}}$"
_EMAIL = "lower(btrim(left(p_email, 1000)))"


def unb64(expr: str) -> str:
    return f"decode(rpad({expr}, ((length({expr}) + 3) / 4) * 4, '='), 'base64')"


def functions() -> list[Function]:
    """The password helpers; the salt for every client, the rest only for the two-step
    login's functions (assetctl.db.pg_attempts) to call."""
    legacy_raw = unb64("m[5]")
    return [
        Function(
            "assetctl_relief_settings",
            "p_stored text",
            "text",
            f"SELECT CASE WHEN p_stored ~ '{RELIEF_PATTERN}' THEN "
            "array_to_string((string_to_array(p_stored, '$'))[2:6], '$') ELSE "
            f"(SELECT m[1] || '$' || m[2] || '$' || m[3] || '$' || length({legacy_raw}) || '$' "
            f"|| m[4] FROM regexp_match(p_stored, '{_LEGACY}') AS m) END",
            (),
            "sql",
            "IMMUTABLE",
        ),
        Function(
            "assetctl_proof_matches",
            "p_stored text, p_proof text",
            "boolean",
            "DECLARE v_raw bytea; m text[]; BEGIN "
            "IF p_stored IS NULL OR p_proof IS NULL OR p_proof !~ '^[A-Za-z0-9+/]{2,200}=*$' "
            "THEN RETURN false; END IF; "
            f"v_raw := {unb64('rtrim(p_proof, chr(61))')}; "
            f"IF p_stored ~ '{RELIEF_PATTERN}' THEN "
            "RETURN encode(sha256(v_raw), 'hex') = split_part(p_stored, '$', 7); END IF; "
            f"m := regexp_match(p_stored, '{_LEGACY}'); "
            f"RETURN m IS NOT NULL AND v_raw = {legacy_raw}; "
            "EXCEPTION WHEN OTHERS THEN RETURN false; END",
            (),
            volatility="IMMUTABLE",
        ),
        Function(
            "assetctl_login_salt",
            "p_email text",
            "text",
            "SELECT COALESCE((SELECT assetctl_relief_settings(password_hash) FROM users "
            f"WHERE email = {_EMAIL}), '{CURRENT}' || rtrim(replace(encode(substring("
            f"assetctl_hmac_sha256(convert_to({KEY}, 'UTF8'), convert_to('assetctl-fake-salt:'"
            f" || {_EMAIL}, 'UTF8')) FROM 1 FOR {SALT_BYTES}), 'base64'), chr(10), ''), '='))",
            ALL,
            "sql",
            "STABLE",
        ),
    ]
