"""The SECURITY DEFINER functions through which clients make every write to `users`,
`sessions`, `login_events`, `security_alerts`, `alert_deliveries` and `db_logins`.

Each runs as the owner role with a fixed `search_path` (pg_catalog, the schema, pg_temp
last), is not executable by PUBLIC, and is granted only to the group roles listed with it.
They check what a grant cannot: that the database login acts for the app user it names
(`db_logins`), unless the login is trusted anyway (a superuser, or a member of the owner
role: then the roles are advisory, as `assetctl doctor` warns).
"""

# SQL text here is built only from constants, model column names and identifiers validated
# by assetctl.db.roles; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass

from assetctl.db.roles import GROUP_ROLES, RoleNames, quote

ALL = GROUP_ROLES
ADMIN = ("admin",)
# SQLSTATEs the CLI maps to its own errors (see core.auth.store).
NOT_FOUND = "P0002"  # no_data_found
CONFLICT = "23505"  # unique_violation
REFUSED = "42501"  # insufficient_privilege
# Signatures of earlier releases, dropped before the functions are (re)defined: their
# replacements take the policy from the database instead of the caller.
OBSOLETE = (
    "assetctl_login_failed(bigint, timestamptz, integer, integer, integer)",
    "assetctl_login_succeeded(bigint, text, timestamptz, timestamptz, text, text)",
    # Replaced by server relief (assetctl.db.pg_passwords): no client reads a hash.
    "assetctl_password_hash(bigint)",
    "assetctl_set_password(bigint, text, timestamptz)",
    # Replaced by the two-step login (assetctl.db.pg_attempts): a caller could roll these
    # back after seeing the outcome, and its wrong guesses never counted.
    "assetctl_login(text, text, text, bigint, text, text)",
    "assetctl_set_password(bigint, text, text, timestamptz)",
    "assetctl_password_ok(bigint, text)",
    # The database records the login event itself now (assetctl_login_attempt).
    "assetctl_record_login_event(bigint, text, boolean, text, text, json, text, text, text, "
    "text, text, text, double precision, double precision, integer, text)",
)


@dataclass(frozen=True)
class Function:
    name: str
    args: str  # "p_x bigint, ..." as declared
    returns: str
    body: str
    groups: tuple[str, ...]
    language: str = "plpgsql"
    volatility: str = "VOLATILE"

    @property
    def signature(self) -> str:
        types = [part.strip().split(" ", 1)[1] for part in self.args.split(",") if part.strip()]
        return f"{self.name}({', '.join(types)})"


def refuse(what: str) -> str:
    return f"RAISE EXCEPTION USING ERRCODE = '{REFUSED}', MESSAGE = '{what}';"


_ACTS_FOR = "IF NOT assetctl_may_act_for({uid}) THEN " + refuse(
    "this database login is not linked to that assetctl user"
)


def acts_for(uid: str) -> str:
    return _ACTS_FOR.format(uid=uid) + " END IF;"


def _helpers(names: RoleNames) -> list[Function]:
    owner, admin = names.owner, names.group("admin")
    return [
        Function(
            "assetctl_is_trusted",
            "",
            "boolean",
            "SELECT COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)"
            f" OR pg_has_role(session_user, '{owner}', 'MEMBER')",
            ALL,
            "sql",
            "STABLE",
        ),
        Function(
            "assetctl_is_admin",
            "",
            "boolean",
            f"SELECT assetctl_is_trusted() OR pg_has_role(session_user, '{admin}', 'MEMBER')",
            ALL,
            "sql",
            "STABLE",
        ),
        Function(
            "assetctl_caller_user_id",
            "",
            "bigint",
            "SELECT user_id FROM db_logins WHERE login = session_user",
            ALL,
            "sql",
            "STABLE",
        ),
        Function(
            "assetctl_may_act_for",
            "p_user_id bigint",
            "boolean",
            "SELECT assetctl_is_trusted() OR EXISTS (SELECT 1 FROM db_logins "
            "WHERE login = session_user AND user_id = p_user_id)",
            ALL,
            "sql",
            "STABLE",
        ),
    ]


_SYNC_LOGINS = """
  -- Keep every linked login's group role in step with the app role (none when disabled).
  FOR v_login IN SELECT login FROM db_logins WHERE user_id = p_user_id LOOP
    FOREACH v_group IN ARRAY v_groups LOOP
      IF v_group <> v_keep AND pg_has_role(v_login, v_group, 'MEMBER') THEN
        EXECUTE format('REVOKE %I FROM %I', v_group, v_login);
      END IF;
    END LOOP;
    IF v_keep <> '' AND NOT pg_has_role(v_login, v_keep, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', v_keep, v_login);
    END IF;
  END LOOP;"""


def _groups_decl(names: RoleNames, keep: str) -> str:
    groups = ", ".join(f"'{name}'" for name in names.groups.values())
    return (
        f"DECLARE v_groups text[] := ARRAY[{groups}]; v_keep text := {keep}; "
        "v_login text; v_group text;"
    )


def _group_of(names: RoleNames, role_expr: str) -> str:
    return f"'{names.prefix}_' || {role_expr}"


# Void every session of p_user_id (logout --all, password change, disable).
REVOKE = (
    "UPDATE users SET tokens_valid_after = date_trunc('second', p_now), updated_at = p_now "
    "WHERE id = p_user_id; UPDATE sessions SET revoked_at = p_now "
    "WHERE user_id = p_user_id AND revoked_at IS NULL;"
)


_LOCKED = "COALESCE(locked_until > p_now, false)"
_IN_WINDOW = "COALESCE(first_failed_at >= p_now - make_interval(secs => p_window_s), false)"


def _sessions() -> list[Function]:
    """Login, logout, lockout counting, password change: any client, for its own user."""
    return [
        Function(
            "assetctl_lock_users",
            "",
            "void",
            "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;",
            ADMIN,
        ),
        Function(
            "assetctl_register_user",
            "p_email text, p_name text, p_role text, p_hash text, p_now timestamptz",
            "bigint",
            "DECLARE v_id bigint; BEGIN LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE; "
            "INSERT INTO users (email, name, role, password_hash, active, created_at, "
            "updated_at, tokens_valid_after, failed_logins) VALUES (p_email, p_name, p_role, "
            "p_hash, true, p_now, p_now, date_trunc('second', p_now), 0) RETURNING id INTO v_id;"
            " RETURN v_id; END",
            ADMIN,
        ),
        Function(
            "assetctl_login_failed",
            "p_user_id bigint",
            "void",
            # Policy and clock are the database's own: a caller can neither switch the
            # lockout off nor lock an account for a century.
            "DECLARE p_now timestamptz := now(); "
            "p_window_s integer := assetctl_policy('lockout_window')::integer; "
            "p_threshold integer := assetctl_policy('lockout_threshold')::integer; "
            "p_duration_s integer := assetctl_policy('lockout_duration')::integer; BEGIN "
            # Every SET reads the row itself (no joined snapshot): when racing callers wait
            # for the row lock, each re-reads the committed count, so no failure is lost.
            # While locked nothing counts (the lock runs its course), in the same statement
            # with the same reads, so a caller cannot tell a locked account by its work.
            "UPDATE users SET "
            f" failed_logins = CASE WHEN {_LOCKED} THEN failed_logins WHEN {_IN_WINDOW} "
            "   THEN failed_logins + 1 ELSE 1 END, "
            f" first_failed_at = CASE WHEN {_LOCKED} OR {_IN_WINDOW} THEN first_failed_at "
            "   ELSE p_now END, "
            f" locked_until = CASE WHEN {_LOCKED} THEN locked_until WHEN (CASE WHEN "
            f"   {_IN_WINDOW} THEN failed_logins + 1 ELSE 1 END) >= p_threshold THEN "
            "   p_now + make_interval(secs => p_duration_s) ELSE locked_until END "
            "WHERE id = p_user_id; END",
            (),  # only through assetctl_login_attempt, which counts every attempt
        ),
        Function(
            "assetctl_revoke_sessions",
            "p_user_id bigint, p_now timestamptz",
            "void",
            "BEGIN IF NOT (assetctl_may_act_for(p_user_id) OR assetctl_is_admin()) THEN "
            + refuse("only the user or an admin may end these sessions")
            + f" END IF; {REVOKE} END",
            ALL,
        ),
        Function(
            "assetctl_end_session",
            "p_jti text, p_now timestamptz",
            "void",
            "DECLARE v_user bigint; BEGIN SELECT user_id INTO v_user FROM sessions "
            f"WHERE jti = p_jti; IF NOT FOUND THEN RETURN; END IF; {acts_for('v_user')} "
            "UPDATE sessions SET revoked_at = p_now WHERE jti = p_jti AND revoked_at IS NULL; "
            "END",
            ALL,
        ),
    ]


def _user_admin(names: RoleNames) -> list[Function]:
    """User administration that keeps the logins' group roles in step (admin only)."""
    return [
        Function(
            # Locks the active admins' rows (in id order) for the rest of the transaction,
            # so concurrent demotions and disables queue and each counts what the previous
            # ones left (the "last active admin" rule). Clients hold no UPDATE grant on
            # `users`, which a FOR UPDATE of their own would need.
            "assetctl_lock_active_admins",
            "",
            "SETOF bigint",
            "SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE",
            ADMIN,
            language="sql",
        ),
        Function(
            "assetctl_set_user_role",
            "p_user_id bigint, p_role text, p_now timestamptz",
            "void",
            _groups_decl(names, _group_of(names, "p_role"))
            + " BEGIN UPDATE users SET role = p_role, updated_at = p_now WHERE id = p_user_id; "
            "IF NOT (SELECT active FROM users WHERE id = p_user_id) THEN v_keep := ''; END IF;"
            f"{_SYNC_LOGINS} END",
            ADMIN,
        ),
        Function(
            "assetctl_set_user_active",
            "p_user_id bigint, p_active boolean, p_now timestamptz",
            "void",
            _groups_decl(names, "''")
            + " BEGIN IF NOT p_active THEN "
            + REVOKE
            + " END IF; UPDATE users SET active = p_active, updated_at = p_now "
            "WHERE id = p_user_id; IF p_active THEN SELECT "
            + _group_of(names, "role")
            + f" INTO v_keep FROM users WHERE id = p_user_id; END IF;{_SYNC_LOGINS} END",
            ADMIN,
        ),
        Function(
            "assetctl_unlock_user",
            "p_user_id bigint, p_now timestamptz",
            "void",
            "UPDATE users SET failed_logins = 0, first_failed_at = NULL, locked_until = NULL, "
            "updated_at = p_now WHERE id = p_user_id;",
            ADMIN,
        ),
        Function(
            # What `user list` shows of the lockout: whether (and until when) an account is
            # locked now; never the failure count or window (no client reads the columns).
            "assetctl_user_locks",
            "p_ids bigint[]",
            "TABLE (o_user_id bigint, o_locked_until timestamptz)",
            "BEGIN IF NOT assetctl_is_admin() THEN "
            + refuse("only an admin may see which accounts are locked")
            + " END IF; RETURN QUERY SELECT id, locked_until FROM users "
            "WHERE id = ANY(p_ids) AND locked_until > now(); END",
            ADMIN,
            volatility="STABLE",
        ),
        Function(
            "assetctl_add_login",
            "p_login text, p_role text, p_user_id bigint, p_now timestamptz",
            "void",
            _groups_decl(names, _group_of(names, "p_role"))
            + " v_super boolean; v_can_login boolean; BEGIN "
            "SELECT rolsuper, rolcanlogin INTO v_super, v_can_login FROM pg_roles "
            "WHERE rolname = p_login; IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = "
            f"'{NOT_FOUND}', MESSAGE = 'no such database login'; END IF; "
            f"IF v_super OR NOT v_can_login OR p_login LIKE '{names.prefix}\\_%' OR "
            f"pg_has_role(p_login, '{names.owner}', 'MEMBER') THEN "
            + refuse("this login is trusted or one of the assetctl roles")
            + " END IF; FOREACH v_group IN ARRAY v_groups LOOP "
            "IF v_group <> v_keep AND pg_has_role(p_login, v_group, 'MEMBER') THEN "
            f"RAISE EXCEPTION USING ERRCODE = '{CONFLICT}', MESSAGE = v_group; END IF; END LOOP; "
            "INSERT INTO db_logins (login, user_id, created_at) VALUES (p_login, p_user_id, "
            "p_now) ON CONFLICT (login) DO UPDATE SET user_id = EXCLUDED.user_id; "
            "IF NOT pg_has_role(p_login, v_keep, 'MEMBER') THEN "
            "EXECUTE format('GRANT %I TO %I', v_keep, p_login); END IF; END",
            ADMIN,
        ),
    ]


# A session of the user an alert is about (an intruder holding that user's password and
# login is exactly that) may neither claim nor close its deliveries: another user's client
# (an admin's: nobody else sees other users' alerts) or the cron job does.
_SUBJECT = "EXISTS (SELECT 1 FROM db_logins WHERE login = session_user AND user_id = v_user)"
_DELIVERER = (
    f"IF NOT assetctl_is_admin() OR {_SUBJECT} THEN "
    + refuse("an alert is delivered by an admin or the cron job, never for its own account")
    + " END IF;"
)
_DELIVERY_USER = (
    "SELECT a.user_id INTO v_user FROM alert_deliveries d JOIN security_alerts a "
    "ON a.id = d.alert_id WHERE d.id = p_id; IF NOT FOUND THEN RETURN false; END IF; "
)


def _login_records() -> list[Function]:
    """The alerts a login raises and their pending deliveries (its event is written by
    assetctl_login_attempt)."""
    return [
        Function(
            "assetctl_raise_alert",
            "p_login_event_id bigint, p_kind text, p_severity text, p_location text, "
            "p_details json",
            "bigint",
            "DECLARE v_user bigint; v_at timestamptz; v_id bigint; BEGIN "
            "SELECT user_id, at INTO v_user, v_at FROM login_events WHERE id = p_login_event_id "
            "AND success AND at = now(); IF NOT FOUND THEN "
            + refuse("alerts are raised only by the login that caused them")
            + " END IF; "
            + acts_for("v_user")
            + " INSERT INTO security_alerts (user_id, login_event_id, kind, severity, location, "
            "details, at) VALUES (v_user, p_login_event_id, p_kind, p_severity, p_location, "
            "p_details, v_at) RETURNING id INTO v_id; RETURN v_id; END",
            ALL,
        ),
        Function(
            "assetctl_queue_delivery",
            "p_alert_id bigint, p_channel text, p_now timestamptz, p_next timestamptz",
            "bigint",
            "DECLARE v_user bigint; v_id bigint; BEGIN SELECT user_id INTO v_user "
            "FROM security_alerts WHERE id = p_alert_id AND at = now(); IF NOT FOUND THEN "
            + refuse("deliveries are queued only by the login that raised the alert")
            + " END IF; "
            + acts_for("v_user")
            + " INSERT INTO alert_deliveries (alert_id, channel, status, attempts, created_at, "
            "next_attempt_at) VALUES (p_alert_id, p_channel, 'pending', 0, now(), "
            # Due at once when this login may not deliver it itself (see _DELIVERER); never
            # hidden from the retries for longer than a lease.
            f"CASE WHEN {_SUBJECT} THEN now() ELSE LEAST(p_next, now() + "
            f"make_interval(secs => {_lease_s()})) END) RETURNING id INTO v_id; RETURN v_id; END",
            ALL,
        ),
    ]


def _lease_s() -> int:
    from assetctl.core.security.notify import LEASE

    return int(LEASE.total_seconds())


def _backoff_s() -> int:
    from assetctl.core.security.notify import MAX_BACKOFF

    return int(MAX_BACKOFF.total_seconds())


def _deliveries() -> list[Function]:
    """Retrying deliveries (admins and the cron job, never for their own account: see
    _DELIVERER) and acknowledging alerts. The lease and the backoff a deliverer asks for are
    capped, so even a deliverer cannot hide a pending alert from the retries."""
    return [
        Function(
            "assetctl_claim_delivery",
            "p_id bigint, p_seen timestamptz, p_until timestamptz",
            "boolean",
            "DECLARE v_user bigint; BEGIN "
            + _DELIVERY_USER
            + _DELIVERER
            + " UPDATE alert_deliveries SET next_attempt_at = LEAST(p_until, now() + "
            f"make_interval(secs => {_lease_s()})) WHERE id = p_id "
            "AND status = 'pending' AND next_attempt_at = p_seen; RETURN FOUND; END",
            ADMIN,
        ),
        Function(
            "assetctl_delivery_outcome",
            "p_id bigint, p_error text, p_now timestamptz, p_next timestamptz",
            "boolean",
            "DECLARE v_user bigint; BEGIN "
            + _DELIVERY_USER
            + _DELIVERER
            + " UPDATE alert_deliveries SET attempts = attempts + 1, "
            "status = CASE WHEN p_error IS NULL THEN 'delivered' ELSE status END, "
            "delivered_at = CASE WHEN p_error IS NULL THEN now() ELSE delivered_at END, "
            "last_error = CASE WHEN p_error IS NULL THEN NULL ELSE left(p_error, 500) END, "
            "next_attempt_at = CASE WHEN p_error IS NULL THEN next_attempt_at ELSE "
            f"LEAST(p_next, now() + make_interval(secs => {_backoff_s()})) END "
            "WHERE id = p_id AND status = 'pending'; RETURN FOUND; END",
            ADMIN,
        ),
        Function(
            "assetctl_ack_alert",
            "p_id bigint, p_by text, p_now timestamptz",
            "void",
            # An intruder holding an admin's password would otherwise make its own new
            # location "known": another admin acknowledges an alert about an admin.
            "DECLARE v_user bigint; BEGIN SELECT user_id INTO v_user FROM security_alerts "
            f"WHERE id = p_id; IF {_SUBJECT} THEN "
            + refuse("an alert about your own account is acknowledged by another admin")
            + " END IF; UPDATE security_alerts SET acked_at = p_now, "
            "acked_by = left(COALESCE(p_by, session_user::text), 320) "
            "WHERE id = p_id AND acked_at IS NULL; END",
            ADMIN,
        ),
    ]


def functions(names: RoleNames) -> list[Function]:
    """Every function, helpers first (the others call them)."""
    from assetctl.db import pg_attempts, pg_cache, pg_passwords, pg_policy, pg_tokens

    return [
        *_helpers(names),
        *pg_policy.functions(),
        *pg_tokens.functions(),
        *pg_passwords.functions(),
        *_sessions(),
        *pg_attempts.functions(),
        *_user_admin(names),
        *_login_records(),
        *_deliveries(),
        *pg_cache.functions(),
    ]


def create_sql(function: Function, schema: str) -> str:
    body = function.body
    if function.language == "plpgsql" and not body.lstrip().upper().startswith(
        ("BEGIN", "DECLARE")
    ):
        body = f"BEGIN {body} END"
    path = f"pg_catalog, {quote(schema)}, pg_temp"
    return (
        f"CREATE OR REPLACE FUNCTION {function.name}({function.args}) "
        f"RETURNS {function.returns} LANGUAGE {function.language} {function.volatility} "
        f"SECURITY DEFINER SET search_path = {path} AS $fn$ {body} $fn$"
    )
