"""Finished Replicate predictions delivered by webhook, in the shared database: the webhook may reach
any server process, and the process waiting for the prediction reads it from here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.models import ReplicatePredictionRow
from domain.ports import Clock

_table = ReplicatePredictionRow.__table__
# Nobody waits longer than this for a prediction; older deliveries belong to a process that gave up or died.
KEEP_FOR = timedelta(hours=1)


class SqlPredictionInbox:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._upsert = mysql.insert if engine.dialect.name == "mysql" else sqlite.insert

    async def put(self, prediction_id: str, prediction: dict[str, Any]) -> None:
        """Record a delivery (Replicate retries deliveries: the last one wins) and drop stale ones."""
        now = self._clock.now()
        insert = self._upsert(_table).values(id=prediction_id, prediction=prediction, received_at=now)
        if self._upsert is mysql.insert:
            statement = insert.on_duplicate_key_update(prediction=insert.inserted.prediction, received_at=now)
        else:
            statement = insert.on_conflict_do_update(
                index_elements=["id"], set_={"prediction": insert.excluded.prediction, "received_at": now}
            )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
            await connection.execute(delete(_table).where(_table.c.received_at < now - KEEP_FOR))

    async def get(self, prediction_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as connection:
            return (await connection.execute(select(_table.c.prediction).where(_table.c.id == prediction_id))).scalar()

    async def delete(self, prediction_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(_table).where(_table.c.id == prediction_id))
