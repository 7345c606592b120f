"""What a DML statement's result says: how many rows it matched."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (``execute`` is typed as returning a plain ``Result``)."""
    assert isinstance(result, CursorResult)
    return result.rowcount
