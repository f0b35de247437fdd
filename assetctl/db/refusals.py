"""A refusal by PostgreSQL's privileges or row-level security (SQLSTATE 42501) as one
sentence naming what was refused: exit 5, never the driver's text or the SQL."""

from __future__ import annotations

import re

from assetctl.errors import PermissionDeniedError

INSUFFICIENT_PRIVILEGE = "42501"
HINT = (
    "your database login's group role does not allow it; an admin can change it with "
    "`assetctl user set-role EMAIL ROLE` (or `assetctl user add-login LOGIN --role ROLE`)"
)
# Messages our definer functions raise with SQLSTATE 42501 are meant for people as they are.
_OURS = re.compile(r"[a-z][a-z ,.'-]{5,120}")
_TABLE = re.compile(r"permission denied for (table|relation|sequence|view) (\w+)")
_FUNCTION = re.compile(r"permission denied for function (\w+)")
_RLS = re.compile(r"row-level security policy for table \"?(\w+)")
_VERBS = {
    "insert": "insert into",
    "update": "update",
    "delete": "delete from",
    "truncate": "truncate",
    "select": "read",
    "copy": "write to",
    "lock": "lock",
}


def _verb(statement: str | None) -> str:
    words = (statement or "").lstrip().split(None, 1)
    return _VERBS.get(words[0].lower(), "use") if words else "use"


def refusal(exc: BaseException) -> PermissionDeniedError | None:
    """The exit-5 error for a database refusal wrapped in `exc` (a SQLAlchemy DBAPIError or
    a psycopg2 error), or None when `exc` is something else."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "pgcode", None) != INSUFFICIENT_PRIVILEGE:
        return None
    diag = getattr(orig, "diag", None)
    primary = str(getattr(diag, "message_primary", None) or "").strip()
    statement = getattr(exc, "statement", None)
    if match := _TABLE.search(primary):
        what = f"your login may not {_verb(statement)} {match.group(2)}"
    elif match := _FUNCTION.search(primary):
        action = match.group(1).removeprefix("assetctl_").replace("_", " ")
        what = f"your login may not {action}"
    elif match := _RLS.search(primary):
        what = f"your login may not write that row of {match.group(1)}"
    elif _OURS.fullmatch(primary):
        what = primary
    else:
        what = "your login lacks a privilege this command needs"
    return PermissionDeniedError(f"the database refused: {what}", hint=HINT)
