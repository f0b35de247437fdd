"""User administration (admin only): list, change role, disable/enable, unlock.

Changes that reduce access (role change, disable) take effect on the user's next command,
because every command reads the role and active flag from the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.auth import store
from assetctl.core.auth.accounts import check_role, normalise_email, user_records
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.errors import ConflictError, NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetctl.db.models import User


def _find(session: Session, email: str) -> User:
    from sqlalchemy import select

    from assetctl.db.models import User

    address = normalise_email(email)
    user = session.execute(select(User).where(User.email == address)).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"no user with email {address}", hint="see `assetctl user list`")
    return user


find_user = _find


def _ensure_other_admin(session: Session, caller: Principal, user: User) -> None:
    """Refuse to remove the last active admin: nobody could manage users afterwards.

    The active admins' rows are locked (in id order) before counting, so concurrent
    demotions and disables queue here and each one counts what the previous ones left.
    On PostgreSQL a row lock, once granted, re-reads the row and drops it if it stopped
    matching (READ COMMITTED); on SQLite every write transaction already holds the
    database's write lock (BEGIN IMMEDIATE). The caller must still be among the locked
    admins: one demoted a moment ago may not act on the role it no longer has."""
    admins = store.lock_active_admins(session)
    if caller.user_id not in admins:
        raise PermissionDeniedError(
            "you are no longer an active admin", hint="another admin changed your account"
        )
    if admins == {user.id}:
        raise ConflictError(
            f"{user.email} is the last active admin",
            hint="make another user admin first",
        )


def list_users(session: Session, caller: Principal) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from assetctl.db.models import User

    require(caller, Permission.ADMIN)
    users = list(session.execute(select(User).order_by(User.email)).scalars())
    return user_records(session, users)


def set_role(session: Session, caller: Principal, email: str, role: str) -> dict[str, Any]:
    require(caller, Permission.ADMIN)
    user = _find(session, email)
    new_role = check_role(role)
    if new_role != "admin":
        _ensure_other_admin(session, caller, user)
    store.set_role(session, user, new_role, datetime.now(UTC))
    return user_records(session, [user])[0]


def set_active(session: Session, caller: Principal, email: str, active: bool) -> dict[str, Any]:
    """Disable (revoking every session) or re-enable a user."""
    require(caller, Permission.ADMIN)
    user = _find(session, email)
    if not active:
        _ensure_other_admin(session, caller, user)
    store.set_active(session, user, active, datetime.now(UTC))
    return user_records(session, [user])[0]


def unlock(session: Session, caller: Principal, email: str) -> dict[str, Any]:
    require(caller, Permission.ADMIN)
    user = _find(session, email)
    store.unlock(session, user, datetime.now(UTC))
    return user_records(session, [user])[0]
