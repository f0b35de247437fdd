"""Typed errors and the exit codes they map to.

Core code raises these; the single error boundary in `assetctl.cli.main` turns them into
one line on stderr and the matching exit status. The codes are a public interface.
"""

from __future__ import annotations

from collections.abc import Iterable
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


# Failure classes, most severe first: a command that reports many failures (describe of many
# photos, a batch of assets) exits with the most severe one seen. A bug outranks everything;
# a service being down outranks what the user can fix; bad input ranks last.
SEVERITY = (
    ExitStatus.ERROR,
    ExitStatus.UNAVAILABLE,
    ExitStatus.NOT_AUTHENTICATED,
    ExitStatus.PERMISSION_DENIED,
    ExitStatus.CONFLICT,
    ExitStatus.NOT_FOUND,
    ExitStatus.USAGE,
)


def most_severe(codes: Iterable[int]) -> int:
    """The exit status of many outcomes: 0 if there is no failure, else the most severe."""
    seen = {int(code) for code in codes} - {int(ExitStatus.SUCCESS)}
    if not seen:
        return int(ExitStatus.SUCCESS)
    for status in SEVERITY:
        if int(status) in seen:
            return int(status)
    return max(seen)
