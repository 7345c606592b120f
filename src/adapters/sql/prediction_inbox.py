"""Finished Replicate predictions delivered by webhook, in the shared database: the webhook may reach
any server process, and the process waiting for the prediction reads it from here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Insert, delete, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.models import Base, ReplicatePredictionRow
from domain.ports import Clock

_table = Base.metadata.tables[ReplicatePredictionRow.__tablename__]
# Nobody waits longer than this for a prediction; older deliveries belong to a process that gave up or died.
KEEP_FOR = timedelta(hours=1)


class SqlPredictionInbox:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._mysql = engine.dialect.name == "mysql"

    async def put(self, prediction_id: str, prediction: dict[str, Any]) -> None:
        """Record a delivery (Replicate retries deliveries: the last one wins) and drop stale ones."""
        now = self._clock.now()
        row = {"id": prediction_id, "prediction": prediction, "received_at": now}
        statement: Insert
        if self._mysql:
            on_mysql = mysql.insert(_table).values(row)
            statement = on_mysql.on_duplicate_key_update(prediction=on_mysql.inserted.prediction, received_at=now)
        else:
            on_sqlite = sqlite.insert(_table).values(row)
            statement = on_sqlite.on_conflict_do_update(
                index_elements=["id"], set_={"prediction": on_sqlite.excluded.prediction, "received_at": now}
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
