"""What a database error means for the user, in one sentence and never with SQL or its
parameters (they can hold password hashes, session ids and tokens).

`classify` maps the failures a user or an operator can act on to typed errors: a lock wait
that timed out is a conflict (exit 6); a statement timeout and a read-only or full database or
disk are an unavailable service (exit 7). A missing privilege is a refusal (exit 5, see
`refusals.py`). `bug_summary` is what the error boundary prints of any other database error:
its class and SQLSTATE only.
"""

from __future__ import annotations

from typing import Any

from assetctl.errors import AssetctlError, ConflictError, ServiceUnavailableError

# PostgreSQL SQLSTATEs (Appendix A of its manual).
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
READ_ONLY_TRANSACTION = "25006"
DISK_FULL = "53100"
OUT_OF_MEMORY = "53200"

RETRY_HINT = "try again in a moment"


def _driver_error(exc: BaseException) -> BaseException:
    return getattr(exc, "orig", None) or exc


def _primary(error: BaseException) -> str:
    """The server's primary message (no DETAIL, which may quote row values)."""
    diag = getattr(error, "diag", None)
    text = getattr(diag, "message_primary", None) or str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def is_lock_timeout(exc: BaseException) -> bool:
    """A lock wait gave up (PostgreSQL lock_timeout; SQLite's busy timeout)."""
    error = _driver_error(exc)
    if getattr(error, "pgcode", None) == LOCK_NOT_AVAILABLE:
        return True
    return type(error).__module__ == "sqlite3" and "database is locked" in str(error)


def classify(
    exc: BaseException, where: str, statement_timeout_s: float, path: str | None = None
) -> AssetctlError | None:
    """The typed error for a database failure users can act on, else None (a bug).
    `where` names the database (`engine.describe_target`), `path` a SQLite file."""
    error = _driver_error(exc)
    if is_lock_timeout(exc):
        return ConflictError(
            "another session is changing the same data and did not finish in time",
            hint=RETRY_HINT,
        )
    code = getattr(error, "pgcode", None)
    if code == QUERY_CANCELED or _sqlite_interrupted(error):
        return ServiceUnavailableError(
            f"the database did not answer within the statement timeout "
            f"({statement_timeout_s:g} s): {where}",
            hint="try again later; raise db_statement_timeout if the work is that large",
        )
    if code == READ_ONLY_TRANSACTION:
        return ServiceUnavailableError(
            f"the database is read-only and cannot be written: {where}",
            hint="point ASSETCTL_DATABASE_URL at the primary server, not a replica",
        )
    if code in (DISK_FULL, OUT_OF_MEMORY):
        return ServiceUnavailableError(
            f"the database server is out of {'disk space' if code == DISK_FULL else 'memory'}"
            f": {where}",
            hint="ask the database administrator to free space",
        )
    return _classify_sqlite(error, where, path)


def _sqlite_interrupted(error: BaseException) -> bool:
    # The statement-timeout progress handler of `engine._limit_sqlite_statements`.
    return type(error).__module__ == "sqlite3" and str(error) == "interrupted"


def _no_space(path: str | None) -> bool:
    import os

    try:
        return path is not None and os.statvfs(os.path.dirname(path) or ".").f_bavail == 0
    except OSError:
        return False


# SQLite's primary result codes for a file it cannot use mid-command (a damaged header or
# schema fails at connect already), and what each means for the user.
_SQLITE_FAILURES = {
    10: "cannot write the database file (the disk is full, or a file-size limit such as "
    "`ulimit -f` was reached)",  # SQLITE_IOERR
    11: "the database is damaged",  # SQLITE_CORRUPT
    13: "the database or its disk is full",  # SQLITE_FULL
    26: "the database is damaged",  # SQLITE_NOTADB
}


def _classify_sqlite(error: BaseException, where: str, path: str | None) -> AssetctlError | None:
    if type(error).__module__ != "sqlite3":
        return None
    text = str(error).lower()
    if "readonly database" in text or "read-only" in text:
        return ServiceUnavailableError(
            f"the database is read-only: {where} cannot be written",
            hint="assetctl needs write permission on the file and its directory "
            "(or remove mode=ro from the URL)",
        )
    if "disk is full" in text or ("disk i/o error" in text and _no_space(path)):
        return ServiceUnavailableError(
            f"no space left to write {where}", hint="free disk space and try again"
        )
    code = getattr(error, "sqlite_errorcode", None)
    what = _SQLITE_FAILURES.get(code & 0xFF) if isinstance(code, int) else None
    if what is not None:
        damaged = what.startswith("the database is damaged")
        return ServiceUnavailableError(
            f"{what}: {where} ({text.splitlines()[0] if text else 'failed'}); nothing was changed",
            hint="restore it from a backup; `sqlite3 FILE .recover` can save what is still readable"
            if damaged
            else "free space on its disk (or raise the limit) and run the command again",
        )
    if "disk i/o error" in text or "unable to open database file" in text:
        return ServiceUnavailableError(
            f"cannot read or write {where}: {text}",
            hint="check the file, its directory's permissions and the disk",
        )
    return None


def bug_summary(exc: BaseException) -> str | None:
    """For the error boundary: a database or driver error described by its class and
    SQLSTATE only; None for any other exception."""
    error = _driver_error(exc)
    modules = {type(exc).__module__.split(".")[0], type(error).__module__.split(".")[0]}
    if not modules & {"sqlalchemy", "psycopg2", "sqlite3"}:
        return None
    code: Any = getattr(error, "pgcode", None)
    state = f" (SQLSTATE {code})" if code else ""
    return f"database error {type(error).__name__}{state}"
