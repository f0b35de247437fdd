"""Every write to users and sessions, in one place and in two forms: on PostgreSQL through
the owner's SECURITY DEFINER functions (no client role may write those tables itself, see
`assetctl.db.pg_functions`), on SQLite (single user: the file is the boundary) through the
ORM as before. Both forms change the same columns the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.core.auth.permissions import Principal
    from assetctl.db.models import User


R = TypeVar("R")


def on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def call(session: Session, function: str, *args: Any) -> Any:
    """`SELECT function(args...)` with bound values; the scalar result."""
    from sqlalchemy import text

    params = {f"a{i}": value for i, value in enumerate(args)}
    placeholders = ", ".join(f":a{i}" for i in range(len(args)))
    return session.execute(text(f"SELECT {function}({placeholders})"), params).scalar()


def insert_row(session: Session, row: R, function: str, *args: Any) -> R:
    """Insert a new (transient) row: through the ORM on SQLite; on PostgreSQL through the
    owner's definer `function`, which returns the new id, and the stored row is loaded."""
    if not on_postgres(session):
        session.add(row)
        session.flush()
        return row
    stored = session.get(type(row), call(session, function, *args))
    assert stored is not None  # the caller's own row (or a trusted login)
    return stored


def _reload(session: Session, user: User) -> None:
    session.flush()
    session.refresh(user)


def new_password_hash(session: Session, password: str) -> str:
    """What this database stores for a new password."""
    from assetctl.core.auth import passwords

    if on_postgres(session):
        return passwords.relief_hash(password)
    return passwords.hash_password(password)


def relief_attempt(session: Session, email: str, password: str, purpose: str) -> tuple[str, str]:
    """PostgreSQL, step 1 of the two-step login: `assetctl_login_attempt` checks the proof,
    counts a failure (undone by a success), records the login event and returns an opaque
    attempt id, which this COMMITS before anyone asks for the outcome: rolling the attempt
    back gains a caller nothing. Returns (attempt id, relief settings)."""
    from assetctl.core.auth import passwords

    settings = str(call(session, "assetctl_login_salt", email))
    proof = passwords.relief_proof(password, settings)
    attempt = str(call(session, "assetctl_login_attempt", email, proof, purpose))
    session.commit()
    return attempt, settings


def relief_login(
    session: Session, email: str, password: str, *, jti: str, lifetime_s: int, host: str | None
) -> tuple[str, str | None]:
    """PostgreSQL: the committed attempt, then `assetctl_login_finish` in a new transaction,
    which enforces lock and disable and signs the token. (attempt id, token or None)."""
    from assetctl.core.auth import passwords

    attempt, settings = relief_attempt(session, email, password, "login")
    upgrade = passwords.relief_hash(password) if passwords.relief_outdated(settings) else None
    token = call(session, "assetctl_login_finish", attempt, jti, lifetime_s, host, upgrade)
    return attempt, None if token is None else str(token)


def lock_users(session: Session) -> None:
    """Serialise registrations on PostgreSQL, so two "first" users cannot both become admin
    (SQLite writers are serialised by BEGIN IMMEDIATE already)."""
    if on_postgres(session):
        call(session, "assetctl_lock_users")


def add_user(session: Session, user: User) -> User:
    """Insert a new (transient) user; returns the persistent row."""
    return insert_row(
        session,
        user,
        "assetctl_register_user",
        user.email,
        user.name,
        user.role,
        user.password_hash,
        user.created_at,
    )


def record_failure(session: Session, user: User, now: datetime) -> None:
    """Count a failed login in one atomic UPDATE (see accounts.login), under the database's
    lockout policy (on PostgreSQL the function reads it, with the server's clock)."""
    if on_postgres(session):
        call(session, "assetctl_login_failed", user.id)
        return
    from sqlalchemy import case, update

    from assetctl.core.security.policy import policy_values
    from assetctl.db.models import User

    policy = policy_values(session)
    window = int(policy["lockout_window"])
    threshold = int(policy["lockout_threshold"])
    duration = int(policy["lockout_duration"])

    window_start = now - timedelta(seconds=window)
    in_window = (User.first_failed_at.is_not(None)) & (User.first_failed_at >= window_start)
    new_count = case((in_window, User.failed_logins + 1), else_=1)
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            failed_logins=new_count,
            first_failed_at=case((in_window, User.first_failed_at), else_=now),
            locked_until=case(
                (new_count >= threshold, now + timedelta(seconds=duration)),
                else_=User.locked_until,
            ),
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Opened:
    """A new session: when it ends, and on PostgreSQL the token the database signed."""

    expires: datetime
    token: str | None = None


def login_succeeded(
    session: Session,
    user: User,
    *,
    jti: str,
    now: datetime,
    lifetime_s: int,
    host: str | None,
    new_hash: str | None,
) -> Opened:
    """Clear the failure count, note the login and open the session row, lasting
    `lifetime_s` or the policy's token_lifetime, whichever is shorter. On PostgreSQL the
    database also signs the token (no client holds the key) and binds it to this login."""
    if on_postgres(session):
        from assetctl.core.auth.tokens import unverified_expiry

        token = str(
            call(session, "assetctl_login_succeeded", user.id, jti, lifetime_s, host, new_hash)
        )
        _reload(session, user)
        return Opened(unverified_expiry(token), token)
    from assetctl.core.security.policy import policy_values
    from assetctl.db.models import AuthSession

    longest = int(policy_values(session)["token_lifetime"])
    expires = now.replace(microsecond=0) + timedelta(seconds=min(lifetime_s, longest))
    if new_hash:
        user.password_hash = new_hash
    user.failed_logins = 0
    user.first_failed_at = None
    user.locked_until = None
    user.last_login_at = now
    session.add(
        AuthSession(jti=jti, user_id=user.id, created_at=now, expires_at=expires, host=host)
    )
    session.flush()
    return Opened(expires)


def verify_token(session: Session, token: str) -> Principal:
    """PostgreSQL: the caller a token stands for, if the database accepts the token now
    (it checks signature, claims, session row, login binding and user); the user's email,
    name and role are read in the same round trip. NotAuthenticatedError if not."""
    from sqlalchemy import text

    from assetctl.core.auth.permissions import Principal
    from assetctl.core.auth.tokens import MAX_TOKEN_CHARS, invalid_token

    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise invalid_token("malformed token")
    row = session.execute(
        text(
            "SELECT v.o_user_id, v.o_jti, v.o_expires, v.o_reason, u.email, u.name, u.role "
            "FROM assetctl_verify_token(:token) AS v LEFT JOIN users AS u ON u.id = v.o_user_id"
        ),
        {"token": token},
    ).one()
    if row.o_reason is not None:
        raise invalid_token(str(row.o_reason))
    if row.email is None:  # pragma: no cover - the function just saw the row
        raise invalid_token("the account is disabled or deleted")
    expires = row.o_expires.astimezone(UTC)
    return Principal(int(row.o_user_id), row.email, row.name, row.role, str(row.o_jti), expires)


def revoke_all(session: Session, user: User, now: datetime) -> None:
    """Void every session of `user`: rows revoked, and a valid-after time for the tokens."""
    if on_postgres(session):
        call(session, "assetctl_revoke_sessions", user.id, now)
        _reload(session, user)
        return
    from sqlalchemy import update

    from assetctl.db.models import AuthSession

    user.tokens_valid_after = now.replace(microsecond=0)
    user.updated_at = now
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def end_session(session: Session, jti: str, now: datetime) -> None:
    if on_postgres(session):
        call(session, "assetctl_end_session", jti, now)
        return
    from assetctl.db.models import AuthSession

    row = session.get(AuthSession, jti)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


def set_password(
    session: Session, user: User, current: str, password_hash: str, now: datetime
) -> bool:
    """A new password hash if `current` is right and the account not locked; every session
    of the user is revoked. A refusal counts against the lockout like a wrong login (on
    PostgreSQL through a committed attempt, as `relief_login`); False then, and the caller
    must let the transaction commit."""
    if on_postgres(session):
        attempt, _ = relief_attempt(session, user.email, current, "password")
        changed = bool(call(session, "assetctl_set_password", attempt, password_hash, now))
        _reload(session, user)
        return changed
    from assetctl.core.auth import passwords

    locked = user.locked_until is not None and user.locked_until > now
    if not passwords.verify_password(current, user.password_hash)[0]:
        if not locked:  # while locked nothing counts, as for a login
            record_failure(session, user, now)
        return False
    if not user.active or locked:
        return False
    user.password_hash = password_hash
    user.failed_logins = 0
    user.first_failed_at = None
    user.locked_until = None
    revoke_all(session, user, now)
    return True


def lock_active_admins(session: Session) -> set[int]:
    """Ids of the active admins, their rows locked until the transaction ends (see
    `users._ensure_other_admin`). SQLite's write transactions already hold its one lock."""
    from sqlalchemy import select, text

    from assetctl.db.models import User

    if on_postgres(session):
        rows = session.execute(text("SELECT assetctl_lock_active_admins()")).scalars()
        return {int(row) for row in rows}
    query = select(User.id).where(User.role == "admin", User.active.is_(True))
    return set(session.execute(query.order_by(User.id).with_for_update()).scalars())


def set_role(session: Session, user: User, role: str, now: datetime) -> None:
    """The app role, and on PostgreSQL the group role of every login bound to the user."""
    if on_postgres(session):
        call(session, "assetctl_set_user_role", user.id, role, now)
        _reload(session, user)
        return
    user.role = role
    user.updated_at = now


def set_active(session: Session, user: User, active: bool, now: datetime) -> None:
    """Disable (revoking every session, and on PostgreSQL the logins' group roles) or
    re-enable a user."""
    if on_postgres(session):
        call(session, "assetctl_set_user_active", user.id, active, now)
        _reload(session, user)
        return
    if not active:
        revoke_all(session, user, now)
    user.active = active
    user.updated_at = now


def lock_states(session: Session, users: Sequence[User], now: datetime) -> dict[int, datetime]:
    """When each of `users` that is locked at `now` stays locked. On PostgreSQL through
    `assetctl_user_locks` (admins only): no client role reads the lockout counters."""
    if not users:
        return {}
    if on_postgres(session):
        from sqlalchemy import text

        found = session.execute(
            text("SELECT * FROM assetctl_user_locks(:ids)"), {"ids": [u.id for u in users]}
        ).all()
        return {int(row.o_user_id): row.o_locked_until.astimezone(UTC) for row in found}
    return {
        user.id: user.locked_until
        for user in users
        if user.locked_until is not None and user.locked_until > now
    }


def unlock(session: Session, user: User, now: datetime) -> None:
    if on_postgres(session):
        call(session, "assetctl_unlock_user", user.id, now)
        _reload(session, user)
        return
    user.failed_logins = 0
    user.first_failed_at = None
    user.locked_until = None
    user.updated_at = now
