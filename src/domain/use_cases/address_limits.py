"""Limits on what one client address may do per window (sign-ups, logins), counted in the shared limiter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import RateLimited
from domain.ports import RateLimiter
from domain.rate_limits import RateLimit


@dataclass(frozen=True)
class AddressLimit:
    """At most ``rule.limit`` actions of one ``kind`` per client address in each window of ``rule``;
    one more is ``RateLimited`` with ``message``. Refused actions are counted too."""

    limiter: RateLimiter
    kind: str
    rule: RateLimit
    message: str

    async def count(self, address: str, now: datetime) -> None:
        state = await self.limiter.hit(f"{self.kind}:{address}", self.rule)
        if not state.allowed:
            raise RateLimited(state.retry_after(now), self.message)
