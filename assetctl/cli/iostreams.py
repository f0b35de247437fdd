"""Where a command's output goes, and how it may look there (after gh's `IOStreams`).

Data goes to `out`, messages for people to `err`. Colour only on a terminal, and never with
NO_COLOR, TERM=dumb or --no-color. Messages quote stored data (tags, file names, server
replies), so every message line shows invisible characters as escapes. Tests inject their
own streams and environment.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from assetctl.json_values import visible_lines


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

    def say(self, message: str) -> None:
        """A message for people on stderr, even under --quiet (errors)."""
        print(visible_lines(message), file=self.err)

    def info(self, message: str) -> None:
        """A message for people (stderr), silenced by --quiet."""
        if not self.quiet:
            self.say(message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.say(f"warning: {message}")
