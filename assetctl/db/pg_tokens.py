"""Tokens signed and verified inside PostgreSQL, so no client ever holds the signing key.

The HS256 key stays in `app_meta` behind a row-level policy that hides it from every client
role (the owner, who defines these functions, reads it). `assetctl_login_succeeded` opens
the session and returns its token; `assetctl_verify_token` checks the signature, the claims,
the session row (bound to the database login that opened it) and the user, and returns the
session or the reason it is refused. HMAC-SHA-256 is built from PostgreSQL's own `sha256()`
(RFC 2104), so no extension has to be installed.
"""

# SQL text here is built only from constants; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from assetctl.core.auth.tokens import AUDIENCE, ISSUER, LEEWAY_S, MAX_TOKEN_CHARS, REQUIRED_CLAIMS
from assetctl.db.pg_functions import ALL, Function, acts_for, refuse

KEY = "(SELECT value FROM app_meta WHERE key = 'jwt_secret')"
_HEADER = '{"alg":"HS256","typ":"JWT"}'


def _helpers() -> list[Function]:
    return [
        Function(
            "assetctl_hmac_sha256",
            "p_key bytea, p_msg bytea",
            "bytea",
            "DECLARE k bytea := p_key; ipad bytea; opad bytea; BEGIN "
            "IF length(k) > 64 THEN k := sha256(k); END IF; "
            "k := k || decode(repeat('00', 64 - length(k)), 'hex'); ipad := k; opad := k; "
            "FOR i IN 0..63 LOOP ipad := set_byte(ipad, i, get_byte(k, i) # 54); "
            "opad := set_byte(opad, i, get_byte(k, i) # 92); END LOOP; "
            "RETURN sha256(opad || sha256(ipad || p_msg)); END",
            (),
            volatility="IMMUTABLE",
        ),
        Function(
            "assetctl_b64url",
            "p_data bytea",
            "text",
            "SELECT rtrim(translate(encode(p_data, 'base64'), E'+/\\n', '-_'), '=')",
            (),
            "sql",
            "IMMUTABLE",
        ),
        Function(
            "assetctl_b64url_decode",
            "p_text text",
            "bytea",
            "SELECT decode(rpad(translate(p_text, '-_', '+/'), "
            "((length(p_text) + 3) / 4) * 4, '='), 'base64')",
            (),
            "sql",
            "IMMUTABLE",
        ),
        Function(
            "assetctl_signature",
            "p_signed text",
            "text",
            f"SELECT assetctl_b64url(assetctl_hmac_sha256(convert_to({KEY}, 'UTF8'), "
            "convert_to(p_signed, 'UTF8')))",
            (),
            "sql",
            "STABLE",
        ),
        Function(
            "assetctl_database_id",
            "",
            "text",
            # Names the database for the cache; a digest, never the key itself.
            "SELECT encode(sha256(convert_to('assetctl-database-id:' || value, 'UTF8')), 'hex')"
            " FROM app_meta WHERE key = 'jwt_secret'",
            ALL,
            "sql",
            "STABLE",
        ),
    ]


def _login_succeeded() -> Function:
    claims = (
        f"jsonb_build_object('iss', '{ISSUER}', 'aud', '{AUDIENCE}', 'sub', p_user_id::text, "
        "'iat', extract(epoch FROM v_start)::bigint, 'nbf', extract(epoch FROM v_start)::bigint,"
        " 'exp', extract(epoch FROM v_expires)::bigint, 'jti', p_jti, 'role', v_role)"
    )
    return Function(
        "assetctl_login_succeeded",
        "p_user_id bigint, p_jti text, p_lifetime_s bigint, p_host text, p_new_hash text",
        "text",
        # The session lasts the caller's lifetime or the policy's longest, whichever is
        # shorter, and is bound to this database login; the token is signed here.
        "DECLARE v_start timestamptz := date_trunc('second', now()); v_expires timestamptz; "
        "v_role text; v_body text; BEGIN "
        + acts_for("p_user_id")
        # The lock is checked by the caller (assetctl_login_finish): this attempt's own
        # pessimistic count may have set it, and the success clears it.
        + " IF EXISTS (SELECT 1 FROM users WHERE id = p_user_id AND NOT active) THEN "
        + refuse("the account is disabled")
        + " END IF; v_expires := v_start + make_interval(secs => LEAST(GREATEST(p_lifetime_s, "
        "1), assetctl_policy('token_lifetime')::bigint)); "
        "UPDATE users SET failed_logins = 0, first_failed_at = NULL, locked_until = NULL, "
        "last_login_at = now(), password_hash = COALESCE(p_new_hash, password_hash) "
        "WHERE id = p_user_id RETURNING role INTO v_role; "
        "INSERT INTO sessions (jti, user_id, created_at, expires_at, host, db_login) "
        "VALUES (p_jti, p_user_id, now(), v_expires, p_host, session_user); "
        f"v_body := assetctl_b64url(convert_to('{_HEADER}', 'UTF8')) || '.' || "
        f"assetctl_b64url(convert_to({claims}::text, 'UTF8')); "
        "RETURN v_body || '.' || assetctl_signature(v_body); END",
        (),  # only through assetctl_login_finish, after a right attempt
    )


def _refused(reason: str) -> str:
    return f"o_reason := '{reason}'; RETURN NEXT; RETURN;"


def _verify() -> Function:
    required = ", ".join(f"'{claim}'" for claim in REQUIRED_CLAIMS)
    numbers = " OR ".join(f"jsonb_typeof(c->'{n}') <> 'number'" for n in ("iat", "nbf", "exp"))
    strings = " OR ".join(f"jsonb_typeof(c->'{n}') <> 'string'" for n in ("sub", "jti", "role"))
    return Function(
        "assetctl_verify_token",
        "p_token text",
        "TABLE (o_user_id bigint, o_jti text, o_expires timestamptz, o_reason text)",
        "DECLARE v text[]; h jsonb; c jsonb; t numeric := extract(epoch FROM now()); "
        "s record; u record; BEGIN "
        f"IF p_token IS NULL OR length(p_token) > {MAX_TOKEN_CHARS} OR p_token !~ "
        "'^[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$' THEN "
        + _refused("malformed token")
        + " END IF; v := string_to_array(p_token, '.'); BEGIN "
        "h := convert_from(assetctl_b64url_decode(v[1]), 'UTF8')::jsonb; "
        "c := convert_from(assetctl_b64url_decode(v[2]), 'UTF8')::jsonb; "
        "EXCEPTION WHEN OTHERS THEN "
        + _refused("malformed token")
        + " END; IF jsonb_typeof(h) <> 'object' OR h->>'alg' IS DISTINCT FROM 'HS256' THEN "
        + _refused("unexpected signing algorithm")
        + " END IF; IF assetctl_signature(v[1] || '.' || v[2]) <> v[3] OR "
        f"jsonb_typeof(c) <> 'object' OR NOT c ?& ARRAY[{required}] OR {numbers} OR {strings} "
        f"OR c->>'iss' <> '{ISSUER}' OR c->>'aud' <> '{AUDIENCE}' "
        "OR c->>'sub' !~ '^[0-9]{1,18}$' THEN "
        + _refused("bad signature or claims")
        + f" END IF; IF (c->>'exp')::numeric + {LEEWAY_S} <= t THEN "
        + _refused("it has expired")
        + f" END IF; IF (c->>'nbf')::numeric - {LEEWAY_S} > t THEN "
        + _refused("it is not valid yet")
        + f" END IF; IF (c->>'iat')::numeric > t + {LEEWAY_S} THEN "
        + _refused("issued in the future")
        + " END IF; SELECT * INTO s FROM sessions WHERE jti = c->>'jti'; "
        "IF NOT FOUND OR s.user_id <> (c->>'sub')::bigint THEN "
        + _refused("unknown session")
        + " END IF; SELECT * INTO u FROM users WHERE id = s.user_id; "
        "IF NOT FOUND OR NOT u.active THEN "
        + _refused("the account is disabled or deleted")
        + " END IF; IF to_timestamp((c->>'iat')::numeric) < u.tokens_valid_after THEN "
        + _refused("all sessions of this account were revoked")
        + " END IF; IF s.revoked_at IS NOT NULL THEN "
        + _refused("it was ended by a logout")
        + " END IF; IF s.expires_at <= now() THEN "
        + _refused("it has expired")
        + " END IF; IF s.db_login IS DISTINCT FROM session_user::text THEN "
        + _refused("it was opened over another database login")
        + " END IF; o_user_id := s.user_id; o_jti := s.jti; o_expires := s.expires_at; "
        "o_reason := NULL; RETURN NEXT; END",
        ALL,
        volatility="STABLE",
    )


def functions() -> list[Function]:
    """The token functions, helpers first."""
    return [*_helpers(), _login_succeeded(), _verify()]
