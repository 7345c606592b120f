"""The SQL prediction inbox on SQLite and MariaDB: what one engine records, another reads."""

from __future__ import annotations

from datetime import UTC, datetime

from fakes import FakeClock
from sqlalchemy import func, select

from adapters.sql.engine import create_engine
from adapters.sql.models import ReplicatePredictionRow
from adapters.sql.prediction_inbox import SqlPredictionInbox
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory

DONE = {"id": "p1", "status": "succeeded", "output": "https://replicate.delivery/x/out.png", "error": None}


async def test_a_delivery_recorded_by_one_engine_is_read_by_another(
    sql_uow: SqlUnitOfWorkFactory, database_url: str
) -> None:
    clock = FakeClock()
    other = create_engine(database_url)
    try:
        writer, reader = SqlPredictionInbox(sql_uow.engine, clock), SqlPredictionInbox(other, clock)
        assert await reader.get("p1") is None
        await writer.put("p1", DONE)
        assert await reader.get("p1") == DONE
        await reader.delete("p1")
        assert await writer.get("p1") is None
        await reader.delete("p1")  # already gone: not an error
    finally:
        await other.dispose()


async def test_a_redelivery_replaces_the_earlier_one(sql_uow: SqlUnitOfWorkFactory) -> None:
    inbox = SqlPredictionInbox(sql_uow.engine, FakeClock())
    await inbox.put("p1", {**DONE, "status": "processing", "output": None})
    await inbox.put("p1", DONE)
    assert await inbox.get("p1") == DONE


async def test_stale_deliveries_are_dropped_when_new_ones_arrive(sql_uow: SqlUnitOfWorkFactory) -> None:
    clock = FakeClock(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    inbox = SqlPredictionInbox(sql_uow.engine, clock)
    await inbox.put("old", {**DONE, "id": "old"})
    clock.advance(minutes=30)
    await inbox.put("recent", {**DONE, "id": "recent"})
    clock.advance(minutes=31)
    await inbox.put("new", {**DONE, "id": "new"})
    assert await inbox.get("old") is None
    assert (await inbox.get("recent") or {}).get("id") == "recent"
    async with sql_uow.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(ReplicatePredictionRow)) == 2
