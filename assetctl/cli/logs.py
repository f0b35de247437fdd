"""Log records to stderr, in one format, at the level the global flags ask for.

Without this, Python's last-resort handler would print bare WARNING messages (such as the
security alert's log channel) even under `-q`, in no particular format.
"""

from __future__ import annotations

import logging
from typing import TextIO

_MARK = "_assetctl_handler"


class _VisibleFormatter(logging.Formatter):
    """Log lines quote stored data (an alert's host name and OS user): show invisible
    characters as escapes, as every other message does."""

    def format(self, record: logging.LogRecord) -> str:
        from assetctl.json_values import visible_lines

        return visible_lines(super().format(record))


def configure(stream: TextIO, *, quiet: bool, verbose: bool, debug: bool) -> None:
    """Route log records (ours and the libraries', e.g. httpx's requests) to `stream`:
    WARNING by default, INFO with -v, DEBUG with --debug, ERROR with -q. Safe to call once
    per command in one process (tests)."""
    logger = logging.getLogger()
    for handler in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(handler)
    if debug:
        level = logging.DEBUG
    elif verbose:
        level = logging.INFO
    elif quiet:
        level = logging.ERROR
    else:
        level = logging.WARNING
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_VisibleFormatter("assetctl: %(levelname)s %(name)s: %(message)s"))
    setattr(handler, _MARK, True)
    logger.addHandler(handler)
    logger.setLevel(level)
