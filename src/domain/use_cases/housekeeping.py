"""Deleting records that have stopped mattering, so no table grows for ever."""

from __future__ import annotations

from dataclasses import dataclass

from domain.ports import Clock, LoginAttemptStore, RateLimiter, UnitOfWorkFactory


@dataclass
class PurgeExpiredRecords:
    """Delete ended sessions, the counts of finished rate-limit windows (of callers who never came
    back, since a returning caller clears its own) and login attempts whose window and lock are over.
    Each is a plain delete by time, safe in any number of processes at once. Returns how many rows went."""

    uow: UnitOfWorkFactory
    rate_limiter: RateLimiter
    login_attempts: LoginAttemptStore
    clock: Clock

    async def __call__(self) -> int:
        now = self.clock.now()
        async with self.uow() as uow:
            sessions = await uow.sessions.delete_expired(now)
            await uow.commit()
        return sessions + await self.rate_limiter.purge(now) + await self.login_attempts.purge(now)
