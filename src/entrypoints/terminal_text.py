"""Visitors' text made safe to print on an operator's terminal."""

from __future__ import annotations

import unicodedata

# Controls (C0, DEL, C1: escape sequences, carriage returns), format characters (bidi overrides and
# isolates, zero-width marks) and the Unicode line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def escaped(text: str) -> str:
    """``text`` with every character a terminal would act on instead of show spelled out as
    ``\\x1b`` or ``\\u202e``; newlines too, so the result is one line."""
    return "".join(_spelled(char) if unicodedata.category(char) in _UNSAFE_CATEGORIES else char for char in text)


def escaped_lines(text: str) -> list[str]:
    """``text`` split at its newlines, each line escaped: a message stays readable as lines."""
    return [escaped(line) for line in text.split("\n")]


def _spelled(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
