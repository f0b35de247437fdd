"""Rules for text that people type or files carry, shared by asset fields and accounts:
control characters, closed lists of words, and quoting a bad value in an error message.

A leaf module (no project imports but errors) so that auth commands do not load the asset
field catalogue to check an email address.
"""

from __future__ import annotations

import unicodedata

from assetctl.errors import InvalidInputError


def shown(value: str) -> str:
    """Quote a user value for an error message without letting control characters through."""
    cut = value if len(value) <= 80 else value[:77] + "..."
    return repr(cut)


def has_control(value: str) -> bool:
    """Whether `value` holds control, format (bidi) or line/paragraph separator characters."""
    # isprintable() is False for every Cc/Cf/Zl/Zp character, so the common case needs no
    # per-character lookup (file import calls this for every cell).
    if value.isprintable():
        return False
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def parse_choice(what: str, allowed: tuple[str, ...], raw: str) -> str:
    """One of a closed list of lower-case words (a status, a role), case-insensitively."""
    value = raw.strip().lower()
    if value not in allowed:
        raise InvalidInputError(
            f"{what} {shown(raw)} is not valid", hint=f"use one of: {', '.join(allowed)}"
        )
    return value


def check_text(name: str, raw: str, max_len: int, *, multiline: bool = False) -> str:
    """The rule of every free-text value, whoever gives it (flags, files, a model's reply,
    user names): stripped, not empty, at most `max_len` characters, and no control, format
    (bidi, zero-width) or separator characters; `multiline` allows newlines and tabs."""
    value = raw.strip()
    if not value:
        raise InvalidInputError(f"{name} must not be empty (got {shown(raw)})")
    if len(value) > max_len:
        raise InvalidInputError(
            f"{name} is longer than {max_len} characters ({len(value)}): {shown(value)}"
        )
    checked = value.replace("\n", "").replace("\t", "") if multiline else value
    if has_control(checked):
        raise InvalidInputError(f"{name} contains control characters: {shown(value)}")
    return value
