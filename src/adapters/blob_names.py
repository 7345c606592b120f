"""What both blob stores agree on: which keys are valid, and how a download is named."""

from __future__ import annotations

import re
from urllib.parse import quote

# Path segments of letters, digits, ".", "_" and "-", none starting with a dot: no "..", no
# absolute paths, no backslashes, and no clash with the stores' own dot-files. A key valid on one
# store is valid on the other.
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
_UNSAFE_IN_QUOTES = re.compile(r"[^A-Za-z0-9._ -]")


def check_key(key: str) -> None:
    """Raise ``ValueError`` for a malformed key: callers build keys, so a bad one is a bug."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a valid blob key: {key!r}")


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` that saves as ``filename``: an ASCII fallback, then the UTF-8 name (RFC 6266)."""
    fallback = _UNSAFE_IN_QUOTES.sub("_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
