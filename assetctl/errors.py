"""Typed errors and the exit codes they map to.

Core code raises these; the single error boundary in `assetctl.cli.main` turns them into
one line on stderr and the matching exit status. The codes are a public interface.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    NOT_AUTHENTICATED = 4
    PERMISSION_DENIED = 5
    CONFLICT = 6
    UNAVAILABLE = 7
    INTERRUPTED = 130


class AssetctlError(Exception):
    """Base of every expected failure: carries a message, an optional hint and an exit status."""

    exit_status: ExitStatus = ExitStatus.ERROR
    kind = "error"
    # Set on errors raised after writing something that must survive (a failed-login count).
    commit_before_raising = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InvalidInputError(AssetctlError):
    """Bad flag value, bad field, bad file row, malformed configuration."""

    exit_status = ExitStatus.USAGE
    kind = "invalid_input"


class NotFoundError(AssetctlError):
    exit_status = ExitStatus.NOT_FOUND
    kind = "not_found"


class NotAuthenticatedError(AssetctlError):
    exit_status = ExitStatus.NOT_AUTHENTICATED
    kind = "not_authenticated"


class PermissionDeniedError(AssetctlError):
    exit_status = ExitStatus.PERMISSION_DENIED
    kind = "permission_denied"


class ConflictError(AssetctlError):
    """Duplicate tag or serial, stale version, invalid state transition."""

    exit_status = ExitStatus.CONFLICT
    kind = "conflict"


class ServiceUnavailableError(AssetctlError):
    """The database (or another required service) cannot be reached or is not ready."""

    exit_status = ExitStatus.UNAVAILABLE
    kind = "unavailable"
