"""Passwords checked inside PostgreSQL by server relief, so no client reads a hash.

Argon2id cannot run inside PostgreSQL. The client derives the Argon2id output from the
password and the parameters and salt `assetctl_login_salt` hands out (a stable fake salt,
derived from the database's secret key, for an unknown email: the answer does not tell
whether an account exists); `assetctl_login` compares SHA-256 of that output with the stored
verifier, counts a failure against the lockout, and opens the session only for the right
proof. The stored `relief$M$T$P$LEN$SALT$VERIFIER` is not a password equivalent. A hash of an
earlier release (`$argon2id$...`, which holds the Argon2id output itself) is still accepted
and replaced by its verifier at the first login.
"""

# SQL text here is built only from constants; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from assetctl.core.auth.passwords import CURRENT, RELIEF, SALT_BYTES
from assetctl.db.pg_functions import ALL, REVOKE, Function, acts_for, refuse
from assetctl.db.pg_tokens import KEY

_LEGACY = (
    r"^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$"
)
_RELIEF = rf"^{RELIEF}\$[0-9]+\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9+/]+\$[0-9a-f]{{64}}$"
_EMAIL = "lower(btrim(left(p_email, 1000)))"


def _unb64(expr: str) -> str:
    return f"decode(rpad({expr}, ((length({expr}) + 3) / 4) * 4, '='), 'base64')"


def functions() -> list[Function]:
    """The password functions; the first three only for the others to call."""
    legacy_raw = _unb64("m[5]")
    return [
        Function(
            "assetctl_relief_settings",
            "p_stored text",
            "text",
            f"SELECT CASE WHEN p_stored ~ '{_RELIEF}' THEN "
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
            f"v_raw := {_unb64('rtrim(p_proof, chr(61))')}; "
            f"IF p_stored ~ '{_RELIEF}' THEN "
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
        Function(
            "assetctl_login",
            "p_email text, p_proof text, p_jti text, p_lifetime_s bigint, p_host text, "
            "p_new_hash text",
            "text",
            # NULL is the one refusal for every reason; a wrong or malformed proof counts
            # against the lockout of the account the email names.
            "DECLARE u record; BEGIN SELECT id, password_hash, active, locked_until INTO u "
            f"FROM users WHERE email = {_EMAIL}; IF NOT FOUND THEN RETURN NULL; END IF; "
            "IF NOT assetctl_proof_matches(u.password_hash, p_proof) THEN "
            "PERFORM assetctl_login_failed(u.id); RETURN NULL; END IF; "
            "IF NOT u.active OR COALESCE(u.locked_until > now(), false) OR "
            # The right proof refused (locked, disabled, another user's login) writes the row
            # as a failure does: within its own transaction a caller could otherwise tell
            # the two apart (txid_current_if_assigned()) and roll the failures back.
            "NOT assetctl_may_act_for(u.id) THEN UPDATE users SET failed_logins = "
            "failed_logins WHERE id = u.id; RETURN NULL; END IF; "
            f"IF p_new_hash IS NOT NULL AND p_new_hash !~ '{_RELIEF}' THEN p_new_hash := NULL; "
            f"END IF; IF p_new_hash IS NULL AND u.password_hash !~ '{_RELIEF}' THEN "
            f"p_new_hash := '{RELIEF}$' || assetctl_relief_settings(u.password_hash) || '$' || "
            f"encode(sha256({_unb64('rtrim(p_proof, chr(61))')}), 'hex'); END IF; "
            "RETURN assetctl_login_succeeded(u.id, p_jti, p_lifetime_s, p_host, p_new_hash); END",
            ALL,
        ),
        Function(
            "assetctl_set_password",
            "p_user_id bigint, p_proof text, p_hash text, p_now timestamptz",
            "void",
            # Only with a proof of the current password, and only a verifier is stored.
            f"BEGIN {acts_for('p_user_id')} IF NOT COALESCE((SELECT assetctl_proof_matches("
            "password_hash, p_proof) FROM users WHERE id = p_user_id), false) OR p_hash IS NULL "
            f"OR p_hash !~ '{_RELIEF}' THEN "
            + refuse("the current password is wrong or the new verifier is malformed")
            + f" END IF; UPDATE users SET password_hash = p_hash WHERE id = p_user_id; {REVOKE} "
            "END",
            ALL,
        ),
        Function(
            "assetctl_password_ok",
            "p_user_id bigint, p_proof text",
            "boolean",
            "SELECT COALESCE((SELECT assetctl_may_act_for(id) AND "
            "assetctl_proof_matches(password_hash, p_proof) FROM users WHERE id = p_user_id), "
            "false)",
            ALL,
            "sql",
            "STABLE",
        ),
    ]
