"""The login-attempt store against its port: SQLite, MariaDB and the fake, by the same tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from contract.databases import database_url_for, migrated
from fakes import FakeLoginAttempts

from adapters.sql.engine import create_engine
from adapters.sql.login_attempts import SqlLoginAttempts
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.ports import LoginAttemptStore
from domain.throttle import FREE_ATTEMPTS, MAX_LOCK, WINDOW

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "mysql", "fake"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LoginAttemptStore]:
    if request.param == "fake":
        yield FakeLoginAttempts()
        return
    async with migrated(database_url_for(request, tmp_path, request.param)) as factory:
        yield SqlLoginAttempts(factory.engine)


async def test_free_attempts_then_locks_that_double(store: LoginAttemptStore) -> None:
    assert [await store.attempt("a", NOW) for _ in range(FREE_ATTEMPTS + 1)] == [0] * (FREE_ATTEMPTS + 1)
    assert await store.attempt("a", NOW) == 1  # locked for 1 s, and the refused attempt is not counted
    assert await store.attempt("b", NOW) == 0  # another address has its own count
    later = NOW.replace(second=1)
    assert await store.attempt("a", later) == 0
    assert await store.attempt("a", later) == 2


async def test_a_success_clears_and_an_old_window_starts_again(store: LoginAttemptStore) -> None:
    for _ in range(FREE_ATTEMPTS + 1):
        await store.attempt("a", NOW)
    await store.clear("a")
    assert await store.attempt("a", NOW) == 0
    for _ in range(FREE_ATTEMPTS + 1):
        await store.attempt("c", NOW)
    assert await store.attempt("c", NOW + WINDOW + MAX_LOCK) == 0  # the window and the lock are over


async def test_purge_deletes_only_what_is_over(store: LoginAttemptStore) -> None:
    await store.attempt("old", NOW)
    await store.attempt("new", NOW + WINDOW)
    assert await store.purge(NOW + WINDOW) == 1
    assert await store.purge(NOW + WINDOW) == 0
    assert await store.attempt("new", NOW + WINDOW) == 0  # still counted: a record was kept


async def test_concurrent_attempts_are_counted_one_by_one(sql_uow: SqlUnitOfWorkFactory, database_url: str) -> None:
    # SQL only: two engines (connection pools) counting one address at once.
    other = create_engine(database_url)
    try:
        stores = [SqlLoginAttempts(sql_uow.engine), SqlLoginAttempts(other)]
        waits = await asyncio.gather(*(stores[i % 2].attempt("a", NOW) for i in range(20)))
        assert waits.count(0) == FREE_ATTEMPTS + 1  # the rest found the lock the sixth one set
    finally:
        await other.dispose()
