"""Rate limits: at most ``limit`` hits per fixed window for one key (an API key, an IP address)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The rule: ``limit`` hits per ``window_seconds``; windows start at multiples of it since the epoch."""

    limit: int
    window_seconds: int

    def window_start(self, now: datetime) -> int:
        """The window ``now`` falls in, as epoch seconds of its start."""
        epoch = int(now.timestamp())
        return epoch - epoch % self.window_seconds


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """What one hit found: whether it is allowed and what is left of the window."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: datetime

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window resets, at least 1."""
        return max(1, math.ceil((self.reset_at - now).total_seconds()))


def binding(states: list[RateLimitState]) -> RateLimitState:
    """Of the limits one request counted in, the one that decides: a refusing one (the one whose
    window resets last, when several refuse), else the one with the fewest hits left (and of those,
    the longest window: its count is the one that will refuse first and for longest)."""
    refused = [state for state in states if not state.allowed]
    if refused:
        return max(refused, key=lambda state: state.reset_at)
    return min(states, key=lambda state: (state.remaining, -state.reset_at.timestamp()))
