"""Where a command's output goes, and how it may look there (after gh's `IOStreams`).

Data goes to `out`, messages for people to `err`. Colour only on a terminal, and never with
NO_COLOR, TERM=dumb or --no-color. Tests inject their own streams and environment.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO


@dataclass
class IOStreams:
    env: Mapping[str, str]
    stdout: TextIO | None = None
    stderr: TextIO | None = None
    quiet: bool = False
    no_color: bool = False

    @property
    def out(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self.stderr or sys.stderr

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never with NO_COLOR, TERM=dumb or --no-color."""
        return not (
            self.no_color
            or "NO_COLOR" in self.env
            or self.env.get("TERM") == "dumb"
            or not self.out.isatty()
        )

    def info(self, message: str) -> None:
        """A message for people (stderr), silenced by --quiet."""
        if not self.quiet:
            print(message, file=self.err)

    def warn(self, message: str) -> None:
        if not self.quiet:
            print(f"warning: {message}", file=self.err)
