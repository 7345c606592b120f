"""The rate limiter against its port: SQL on SQLite and MariaDB (one count per window, shared by every
engine) and the fake, by the same tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from contract.databases import database_url_for, migrated
from fakes import FakeClock, FakeRateLimiter

from adapters.sql.engine import create_engine
from adapters.sql.rate_limiter import SqlRateLimiter
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.ports import RateLimiter
from domain.rate_limits import RateLimit

RULE = RateLimit(limit=3, window_seconds=60)


def _clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC))


@dataclass
class Limiter:
    limiter: RateLimiter
    clock: FakeClock


@pytest.fixture(params=["sqlite", "mysql", "fake"])
async def subject(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Limiter]:
    clock = _clock()
    if request.param == "fake":
        yield Limiter(FakeRateLimiter(clock), clock)
        return
    async with migrated(database_url_for(request, tmp_path, request.param)) as factory:
        yield Limiter(SqlRateLimiter(factory.engine, clock), clock)


async def test_allows_the_limit_then_refuses_until_the_window_resets(subject: Limiter) -> None:
    limiter, clock = subject.limiter, subject.clock
    states = [await limiter.hit("ip:203.0.113.9", RULE) for _ in range(4)]
    assert [s.allowed for s in states] == [True, True, True, False]
    assert [s.remaining for s in states] == [2, 1, 0, 0]
    assert states[-1].reset_at == datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    assert states[-1].retry_after(clock.now()) == 50

    assert (await limiter.hit("ip:198.51.100.1", RULE)).remaining == 2  # another key has its own count

    clock.advance(seconds=50)
    fresh = await limiter.hit("ip:203.0.113.9", RULE)
    assert fresh.allowed and fresh.remaining == 2


async def test_purge_deletes_finished_windows(subject: Limiter) -> None:
    limiter, clock = subject.limiter, subject.clock
    await limiter.hit("a", RULE)
    await limiter.hit("b", RateLimit(limit=3, window_seconds=3600))
    clock.advance(minutes=2)
    assert await limiter.purge(clock.now()) == 1
    assert await limiter.purge(clock.now()) == 0
    assert (await limiter.hit("b", RateLimit(limit=3, window_seconds=3600))).remaining == 1  # kept its count


async def test_a_new_window_clears_the_keys_finished_ones(subject: Limiter) -> None:
    limiter, clock = subject.limiter, subject.clock
    await limiter.hit("ip:203.0.113.9", RULE)
    await limiter.hit("ip:198.51.100.1", RULE)
    clock.advance(minutes=1)
    await limiter.hit("ip:203.0.113.9", RULE)  # its finished window goes with this first hit of the next
    assert await limiter.purge(clock.now()) == 1  # only the other key's was left to purge


async def test_two_engines_share_one_count_under_concurrency(sql_uow: SqlUnitOfWorkFactory, database_url: str) -> None:
    # SQL only: two engines (connection pools) hitting one key at once.
    other = create_engine(database_url)
    try:
        clock = _clock()
        limiters = [SqlRateLimiter(sql_uow.engine, clock), SqlRateLimiter(other, clock)]
        rule = RateLimit(limit=10, window_seconds=3600)
        states = await asyncio.gather(*(limiters[i % 2].hit("key:shared", rule) for i in range(30)))
        assert sum(s.allowed for s in states) == 10
        assert sorted(s.remaining for s in states)[-1] == 9
    finally:
        await other.dispose()
