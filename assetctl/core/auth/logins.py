"""`assetctl user add-login`: bind a PostgreSQL login to an app user and grant it the
matching group role, through the owner's definer function (so an admin needs no superuser
rights). The login itself is created by a DBA (`CREATE ROLE alice LOGIN ...`): how it
authenticates (password, .pgpass, certificate, GSSAPI) is libpq's business, never ours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assetctl.core.auth.accounts import check_role, user_records
from assetctl.core.auth.permissions import Permission, Principal, require
from assetctl.core.auth.store import call, on_postgres
from assetctl.errors import ConflictError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SET_ROLE_HINT = "change the user's role with `assetctl user set-role EMAIL ROLE` instead"


def _check_login_name(login: str) -> str:
    from assetctl.db.roles import check_identifier

    name = login.strip()
    try:
        check_identifier(name)
    except ValueError:
        raise InvalidInputError(
            f"{login!r} is not a usable PostgreSQL login name",
            hint="at most 63 bytes, no double quotes",
        ) from None
    return name


def _held_groups(session: Session, login: str, prefix: str) -> list[str]:
    from sqlalchemy import text

    from assetctl.db.roles import RoleNames

    names = RoleNames(prefix).groups
    held = session.execute(
        text(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :login "
            "AND g.rolname = ANY(:groups)"
        ),
        {"login": login, "groups": list(names.values())},
    ).scalars()
    return sorted(str(name) for name in held)


def add_login(
    session: Session, caller: Principal, login: str, role: str, email: str
) -> dict[str, Any]:
    """Grant `login` the group role `role` and bind it to the user `email`, whose app role
    must be the same (both stay in step afterwards through `user set-role`)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from assetctl.core.auth.users import find_user
    from assetctl.db.pg_functions import CONFLICT, NOT_FOUND
    from assetctl.db.roles import recorded_prefix

    require(caller, Permission.ADMIN)
    new_role = check_role(role)
    name = _check_login_name(login)
    if not on_postgres(session):
        raise InvalidInputError(
            "database logins exist only on PostgreSQL; the SQLite file is single-user",
            hint="point ASSETCTL_DATABASE_URL at the team's PostgreSQL",
        )
    user = find_user(session, email)
    found = session.execute(
        text("SELECT rolsuper OR NOT rolcanlogin FROM pg_roles WHERE rolname = :n"), {"n": name}
    ).first()
    if found is None:
        raise NotFoundError(
            f"PostgreSQL has no login named {name!r}",
            hint=f"a DBA creates it first: CREATE ROLE {name} LOGIN PASSWORD '...'",
        )
    prefix = recorded_prefix(session.connection()) or ""
    if found[0] or name.startswith(f"{prefix}_"):
        raise InvalidInputError(
            f"{name!r} is a superuser, a role without LOGIN or one of assetctl's own roles, "
            "not a person's login",
            hint="give each person or CI job its own ordinary login",
        )
    other = [g for g in _held_groups(session, name, prefix) if g != f"{prefix}_{new_role}"]
    if other:
        raise ConflictError(
            f"login {name!r} already holds the assetctl group role {', '.join(other)}",
            hint=SET_ROLE_HINT,
        )
    if user.role != new_role:
        raise ConflictError(
            f"{user.email} is {user.role} in assetctl, not {new_role}", hint=SET_ROLE_HINT
        )
    try:
        call(session, "assetctl_add_login", name, new_role, user.id, datetime.now(UTC))
    except DBAPIError as exc:  # a concurrent change since the checks above
        code = getattr(exc.orig, "pgcode", None)
        if code == NOT_FOUND:
            raise NotFoundError(f"PostgreSQL has no login named {name!r}") from None
        if code == CONFLICT:
            raise ConflictError(
                f"login {name!r} already holds another assetctl group role", hint=SET_ROLE_HINT
            ) from None
        raise
    return {**user_records(session, [user])[0], "login": name, "db_role": f"{prefix}_{new_role}"}
