"""How much of a list one request may ask for."""

from __future__ import annotations

from domain.errors import InvalidRequest

MAX_PAGE = 100
MAX_OFFSET = 2**31 - 1  # far past any list; larger numbers overflow SQL's OFFSET on MySQL


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest(f"limit must be 1 to {MAX_PAGE} and offset 0 to {MAX_OFFSET}.")
