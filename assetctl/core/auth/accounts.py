"""Authentication: registration, login with lockout, session checks, logout, password change.

Every login failure (unknown email, wrong password, locked or disabled account) gets the same
message and costs one password hash, so neither the text nor the timing tells an attacker
which it was. Failure counters are updated by a single UPDATE statement, so concurrent
attempts cannot slip past the limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assetctl.config import Settings
from assetctl.core.auth import passwords, store, tokens
from assetctl.core.auth.permissions import ROLES, Principal
from assetctl.core.input_text import check_text, has_control, parse_choice
from assetctl.errors import (
    ConflictError,
    InvalidInputError,
    NotAuthenticatedError,
    PermissionDeniedError,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import User

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Stored instead of a malformed "email": people paste passwords into the wrong field.
NOT_AN_EMAIL = "(not an email address)"
LOGIN_FAILED = "login failed: wrong email or password, or the account is locked or disabled"


@dataclass(frozen=True)
class LoginResult:
    token: str
    principal: Principal
    # PostgreSQL: the committed attempt whose login event the database wrote (the client
    # adds its own facts to it with `assetctl_login_details`).
    attempt: str | None = None


class LoginFailed(NotAuthenticatedError):
    """Raised after the failure has been recorded: the transaction must still commit."""

    commit_before_raising = True

    def __init__(self, attempt: str | None = None) -> None:
        super().__init__(
            LOGIN_FAILED, hint="check the email and password; an admin can unlock accounts"
        )
        self.attempt = attempt


class CurrentPasswordWrong(NotAuthenticatedError):
    """`auth passwd` refused: counted against the lockout, so the transaction commits."""

    commit_before_raising = True

    def __init__(self) -> None:
        super().__init__(
            "the current password is wrong, or the account is locked",
            hint="check the current password; an admin can unlock accounts",
        )


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or has_control(email) or not _EMAIL_RE.fullmatch(email):
        raise InvalidInputError(f"{raw!r} is not a valid email address")
    return email


def check_role(raw: str) -> str:
    return parse_choice("role", ROLES, raw)


def signing_key(session: Session, settings: Settings) -> str:
    """SQLite only (PostgreSQL signs and verifies tokens itself): ASSETCTL_JWT_SECRET when
    set, else the random key generated in this database file."""
    configured = settings.values.get("jwt_secret")
    if configured:
        return str(configured)
    from assetctl.db.models import Meta

    meta = session.get(Meta, "jwt_secret")
    if meta is None:  # pragma: no cover - created by migration 0002
        raise RuntimeError("the database has no JWT signing key; run `assetctl db upgrade`")
    return meta.value


def _now() -> datetime:
    return datetime.now(UTC)


def _user_by_email(session: Session, email: str) -> User | None:
    from sqlalchemy import select

    from assetctl.db.models import User

    return session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _principal(user: User, jti: str, expires_at: datetime) -> Principal:
    return Principal(user.id, user.email, user.name, user.role, jti, expires_at)


def user_record(user: User, locked_until: datetime | None) -> dict[str, Any]:
    """What `user list` shows of a user; `locked_until` is set while the account is locked
    (see `user_records`)."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "locked": locked_until is not None,
        "locked_until": locked_until,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }


def user_records(session: Session, users: Sequence[User]) -> list[dict[str, Any]]:
    """`user_record` of each user, with whether it is locked now (for admins: on PostgreSQL
    only they may ask, since no client role reads the lockout counters)."""
    locks = store.lock_states(session, users, _now())
    return [user_record(user, locks.get(user.id)) for user in users]


def register(
    session: Session,
    caller: Principal | None,
    *,
    email: str,
    name: str | None,
    role: str | None,
    password: str,
) -> dict[str, Any]:
    """Create a user. The first user of an empty database needs no session and is admin;
    after that only an admin may register users."""
    from sqlalchemy import func, select

    from assetctl.db.models import User

    email = normalise_email(email)
    passwords.check_password_rules(password)
    store.lock_users(session)
    first = session.execute(select(func.count()).select_from(User)).scalar_one() == 0
    if first:
        if role is not None and check_role(role) != "admin":
            raise InvalidInputError(
                "the first user of a new database is always an admin", hint="omit --role"
            )
        role = "admin"
    else:
        if caller is None:
            raise NotAuthenticatedError(
                "registering users needs an admin session",
                hint="log in as an admin with `assetctl auth login --email ADMIN`",
            )
        if caller.role != "admin":
            raise PermissionDeniedError(f"only an admin can register users (you are {caller.role})")
        role = check_role(role or "viewer")
    if _user_by_email(session, email) is not None:
        raise ConflictError(f"a user with email {email} already exists")
    now = _now()
    user = User(
        email=email,
        name=check_text("name", name or email.split("@")[0], 200),
        role=role,
        password_hash=store.new_password_hash(session, password),
        active=True,
        created_at=now,
        updated_at=now,
        tokens_valid_after=now.replace(microsecond=0),
        failed_logins=0,
    )
    return user_record(store.add_user(session, user), None)  # no failures yet


def login(
    session: Session, settings: Settings, *, email: str, password: str, host: str | None
) -> LoginResult:
    """Verify the credentials and open a session; raises LoginFailed (after recording the
    failure) for every kind of refusal."""
    if store.on_postgres(session):
        # The database judges the email too: a malformed one is refused (and recorded) by
        # the attempt like a wrong password.
        return _login_by_relief(session, settings, email.strip().lower(), password, host)
    try:
        email = normalise_email(email)
    except InvalidInputError:
        passwords.verify_password(password, None)
        raise LoginFailed() from None
    user = _user_by_email(session, email)
    ok, new_hash = passwords.verify_password(password, None if user is None else user.password_hash)
    now = _now()
    if user is None:
        raise LoginFailed()
    locked = user.locked_until is not None and user.locked_until > now
    if not ok:
        # One atomic UPDATE: restart the window if it has passed, lock at the threshold.
        # While locked nothing counts (as on PostgreSQL): the lock runs its course.
        if not locked:
            store.record_failure(session, user, now)
        raise LoginFailed()
    if locked or not user.active:
        raise LoginFailed()
    # The caller's token_lifetime may only shorten the session: the database's policy
    # bounds it (store.login_succeeded returns the end it allowed, and on PostgreSQL the
    # token the database signed).
    jti = tokens.new_jti()
    issued = now.replace(microsecond=0)
    opened = store.login_succeeded(
        session,
        user,
        jti=jti,
        now=now,
        lifetime_s=int(settings.values["token_lifetime"]),
        host=(host or "")[:255] or None,
        new_hash=new_hash,
    )
    expires = opened.expires
    token = opened.token or tokens.issue(
        signing_key(session, settings),
        user_id=user.id,
        role=user.role,
        jti=jti,
        now=issued,
        lifetime_s=max(int((expires - issued).total_seconds()), 1),
    )
    session.flush()
    return LoginResult(token, _principal(user, jti, expires))


def _login_by_relief(
    session: Session, settings: Settings, email: str, password: str, host: str | None
) -> LoginResult:
    """PostgreSQL: the two-step login (store.relief_login): the attempt is committed, with
    its failure counted, before the database says whether it was right and signs the
    token."""
    from sqlalchemy import select

    from assetctl.db.models import User

    jti = tokens.new_jti()
    attempt, token = store.relief_login(
        session,
        email,
        password,
        jti=jti,
        lifetime_s=int(settings.values["token_lifetime"]),
        host=(host or "")[:255] or None,
    )
    if token is None:
        raise LoginFailed(attempt)
    user = session.execute(
        select(User).where(User.email == email).execution_options(populate_existing=True)
    ).scalar_one()
    return LoginResult(token, _principal(user, jti, tokens.unverified_expiry(token)), attempt)


def authenticate(session: Session, settings: Settings, token: str) -> Principal:
    """Check a token against the database: signature and claims, session not revoked or
    expired, issued after the user's valid-after time, user active. The role is read from
    the database, so a role change applies to the very next command."""
    if store.on_postgres(session):
        # The database checks everything below itself, with a key no client can read.
        return store.verify_token(session, token)
    from assetctl.db.models import AuthSession, User

    claims = tokens.verify(signing_key(session, settings), token)
    row = session.get(AuthSession, claims.jti)
    if row is None or row.user_id != claims.user_id:
        raise tokens.invalid_token("unknown session")
    user = session.get(User, claims.user_id)
    if user is None or not user.active:
        raise tokens.invalid_token("the account is disabled or deleted")
    if claims.issued_at < user.tokens_valid_after:
        raise tokens.invalid_token("all sessions of this account were revoked")
    if row.revoked_at is not None:
        raise tokens.invalid_token("it was ended by a logout")
    if row.expires_at <= _now():
        raise tokens.invalid_token("it has expired")
    return _principal(user, claims.jti, row.expires_at)


def revoke_all(session: Session, user: User, now: datetime | None = None) -> None:
    """Void every session of `user`: rows revoked, and a valid-after time for the tokens."""
    store.revoke_all(session, user, now or _now())


def logout(session: Session, principal: Principal, *, everywhere: bool) -> None:
    """Revoke this session, or with `everywhere` every session of the user."""
    from assetctl.db.models import User

    now = _now()
    if everywhere:
        user = session.get(User, principal.user_id)
        if user is not None:
            revoke_all(session, user, now)
        return
    store.end_session(session, principal.jti, now)


def change_password(session: Session, principal: Principal, current: str, new: str) -> None:
    """Change the caller's password after re-checking the current one; every session of the
    user is revoked, so they log in again everywhere. A wrong current password counts
    against the lockout like a wrong login (CurrentPasswordWrong commits it)."""
    from assetctl.db.models import User

    passwords.check_password_rules(new)
    if current == new:
        raise InvalidInputError("the new password is the same as the current one")
    user = session.get(User, principal.user_id)
    if user is None:  # pragma: no cover - authenticate() just loaded it
        raise NotAuthenticatedError("the account is disabled or deleted")
    new_hash = store.new_password_hash(session, new)
    if not store.set_password(session, user, current, new_hash, _now()):
        raise CurrentPasswordWrong()
