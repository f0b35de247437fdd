"""The two-step login (PostgreSQL), so that no caller learns whether a password was right
before the attempt, with its failure counted, is committed.

Step 1, `assetctl_login_attempt(email, proof, purpose)`, checks the server-relief proof
(assetctl.db.pg_passwords), counts a failure against the lockout *whatever the outcome*,
records the login event itself (time, `inet_client_addr()`, failed until finished) and
returns only a random attempt id. Its writes are the same for a right proof, a wrong one and
a locked, disabled or foreign account, so a caller that rolls it back learns nothing, and
one that commits has paid for the guess. Step 2, in a later transaction over the same
database login, `assetctl_login_finish` opens the session (the success clears the count),
or `assetctl_set_password` changes the password (`auth passwd`): only for a committed,
right, unexpired, unused attempt. `assetctl_login_details` lets the client add what only it
knows (its public IP lookup, host, OS user, version, GeoIP) to its own event, once.
"""

# SQL text here is built only from constants; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from assetctl.core.auth.accounts import NOT_AN_EMAIL
from assetctl.core.auth.passwords import RELIEF
from assetctl.db.pg_functions import ALL, REVOKE, Function, refuse
from assetctl.db.pg_passwords import RELIEF_PATTERN, unb64

# How long the caller has between the two steps (the CLI needs milliseconds).
ATTEMPT_TTL_S = 120
_EMAIL = "lower(btrim(left(p_email, 1000)))"
_VALID_EMAIL = r"^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$"


def _take(purpose: str, refusal: str) -> str:
    """Load attempt `p_attempt` into `a` and its user into `u`, and mark it used; `refusal`
    (a statement) for anything but a committed, right, unexpired, unused attempt of this
    purpose made over this login, whose account is still active and not locked since."""
    return (
        "SELECT * INTO a FROM login_attempts WHERE id = left(p_attempt, 36) "
        f"AND purpose = '{purpose}' FOR UPDATE; "
        "IF NOT FOUND OR a.db_login <> session_user::text OR a.used_at IS NOT NULL "
        # Made in this very transaction: not committed yet, so its failure could be undone.
        "OR a.xid = COALESCE(txid_current_if_assigned(), -1) OR a.expires_at <= now() "
        f"OR NOT a.proof_ok THEN {refusal} END IF; "
        "SELECT active, locked_until INTO u FROM users WHERE id = a.user_id FOR UPDATE; "
        "IF NOT FOUND OR NOT u.active OR NOT assetctl_may_act_for(a.user_id) OR "
        # Locked by other failures since (its own pessimistic count is undone below).
        "(u.locked_until > now() AND u.locked_until IS DISTINCT FROM a.own_lock) THEN "
        f"{refusal} END IF; UPDATE login_attempts SET used_at = now() WHERE id = a.id; "
    )


def _attempt() -> Function:
    verifier = f"'{RELIEF}$' || assetctl_relief_settings(u.password_hash) || '$' || " + (
        f"encode(sha256({unb64('rtrim(p_proof, chr(61))')}), 'hex')"
    )
    return Function(
        "assetctl_login_attempt",
        "p_email text, p_proof text, p_purpose text",
        "text",
        "DECLARE u record; v_found boolean; v_match boolean; v_acts boolean; v_ok boolean; "
        f"v_email text := {_EMAIL}; v_lock timestamptz; v_event bigint; "
        "v_verifier text; v_id text := gen_random_uuid()::text; BEGIN "
        "IF p_purpose IS NULL OR p_purpose NOT IN ('login', 'password') THEN "
        + refuse("an attempt is for a login or a password change")
        + " END IF; "
        "SELECT id, password_hash, active, locked_until INTO u FROM users "
        "WHERE email = v_email FOR UPDATE; v_found := FOUND; "
        # Every check runs whatever the others say: the same reads for every outcome.
        "v_match := assetctl_proof_matches(u.password_hash, p_proof); "
        "v_acts := assetctl_may_act_for(u.id); "
        "v_ok := v_found AND v_match AND v_acts AND COALESCE(u.active, false) "
        "AND NOT COALESCE(u.locked_until > now(), false); "
        # Pessimistic: counted as a failure now, undone by the finish of a right attempt.
        # (While the account is locked nothing counts: see assetctl_login_failed.)
        "IF v_found THEN PERFORM assetctl_login_failed(u.id); END IF; "
        "SELECT locked_until INTO v_lock FROM users WHERE id = u.id; "
        f"IF v_ok AND u.password_hash !~ '{RELIEF_PATTERN}' THEN v_verifier := {verifier}; "
        # Both purposes leave an event: a script guessing through `auth passwd`'s check is
        # on record like one guessing through the login.
        "END IF; INSERT INTO login_events (user_id, email, success, at, ip, ip_source, public_ips, "
        "db_client_addr) VALUES (u.id, CASE WHEN length(v_email) <= 254 AND v_email ~ "
        f"'{_VALID_EMAIL}' THEN v_email ELSE '{NOT_AN_EMAIL}' END, false, now(), NULL, "
        "'unknown', '[]', host(inet_client_addr())) RETURNING id INTO v_event; "
        "INSERT INTO login_attempts (id, login_event_id, user_id, purpose, db_login, xid, at, "
        "expires_at, proof_ok, own_lock, new_verifier) VALUES (v_id, v_event, u.id, "
        "p_purpose, session_user, txid_current(), now(), now() + make_interval(secs => "
        f"{ATTEMPT_TTL_S}), v_ok, CASE WHEN v_lock IS DISTINCT FROM u.locked_until THEN "
        "v_lock END, v_verifier); RETURN v_id; END",
        ALL,
    )


def _finish() -> Function:
    return Function(
        "assetctl_login_finish",
        "p_attempt text, p_jti text, p_lifetime_s bigint, p_host text, p_new_hash text",
        "text",
        # NULL is the one refusal; the attempt's failure stays counted.
        "DECLARE a record; u record; v_token text; BEGIN "
        + _take("login", "RETURN NULL;")
        + f"IF p_new_hash IS NULL OR p_new_hash !~ '{RELIEF_PATTERN}' THEN "
        "p_new_hash := a.new_verifier; END IF; "
        "v_token := assetctl_login_succeeded(a.user_id, p_jti, p_lifetime_s, p_host, "
        "p_new_hash); "
        # The login's own event becomes the success, at the time its session opened.
        "UPDATE login_events SET success = true, jti = p_jti, at = now() "
        "WHERE id = a.login_event_id; RETURN v_token; END",
        ALL,
    )


def _details() -> Function:
    return Function(
        "assetctl_login_details",
        "p_attempt text, p_ip text, p_ip_source text, p_public_ips json, p_hostname text, "
        "p_os_user text, p_cli_version text, p_country text, p_city text, "
        "p_latitude double precision, p_longitude double precision, "
        "p_accuracy_radius integer, p_network text",
        "bigint",
        # Only the fields the client alone knows; the user, email, outcome, time and the
        # address the server saw are the database's.
        "DECLARE a record; BEGIN SELECT * INTO a FROM login_attempts "
        "WHERE id = left(p_attempt, 36) AND purpose = 'login' FOR UPDATE; "
        "IF NOT FOUND OR a.db_login <> session_user::text OR a.details_at IS NOT NULL "
        "OR a.expires_at <= now() THEN "
        + refuse("only the login that made an attempt adds its details, once")
        + " END IF; UPDATE login_attempts SET details_at = now() WHERE id = a.id; "
        "UPDATE login_events SET ip = left(p_ip, 45), ip_source = p_ip_source, "
        "public_ips = COALESCE(p_public_ips, '[]'), hostname = left(p_hostname, 255), "
        "os_user = left(p_os_user, 128), cli_version = left(p_cli_version, 32), "
        "country = left(p_country, 2), city = left(p_city, 200), latitude = p_latitude, "
        "longitude = p_longitude, accuracy_radius = p_accuracy_radius, "
        "network = left(p_network, 49) WHERE id = a.login_event_id; "
        "RETURN a.login_event_id; END",
        ALL,
    )


def _set_password() -> Function:
    return Function(
        "assetctl_set_password",
        "p_attempt text, p_hash text, p_now timestamptz",
        "boolean",
        # Only after a committed right check of the current password (purpose 'password'),
        # and only a verifier is stored; false for every refusal.
        "DECLARE a record; u record; p_user_id bigint; BEGIN "
        f"IF p_hash IS NULL OR p_hash !~ '{RELIEF_PATTERN}' THEN RETURN false; END IF; "
        + _take("password", "RETURN false;")
        + "p_user_id := a.user_id; UPDATE users SET password_hash = p_hash, failed_logins = 0, "
        f"first_failed_at = NULL, locked_until = NULL WHERE id = p_user_id; {REVOKE} "
        # The check's event becomes a success (no session: jti stays NULL).
        "UPDATE login_events SET success = true, at = now() WHERE id = a.login_event_id; "
        "RETURN true; END",
        ALL,
    )


def functions() -> list[Function]:
    """The two-step login's functions."""
    return [_attempt(), _finish(), _details(), _set_password()]
