"""Login attempts per address in the shared database, so the throttle holds across server processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Insert, delete, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.models import Base, LoginAttemptRow
from domain.throttle import LoginAttempts, first_attempt

_table = Base.metadata.tables[LoginAttemptRow.__tablename__]


class SqlLoginAttempts:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._mysql = engine.dialect.name == "mysql"

    async def attempt(self, key: str, now: datetime) -> int:
        empty = first_attempt(now)
        row = {"key": key, "count": 0, "window_start": now, "locked_until": None, "expires_at": empty.expires_at}
        # Make sure the row exists, then lock it: concurrent attempts for one address queue up here.
        ensure: Insert
        if self._mysql:
            ensure = mysql.insert(_table).values(row).on_duplicate_key_update(count=_table.c.count)
        else:  # SQLite: every transaction is BEGIN IMMEDIATE, so this one runs alone anyway
            ensure = sqlite.insert(_table).values(row).on_conflict_do_nothing(index_elements=["key"])
        async with self._engine.begin() as connection:
            await connection.execute(ensure)
            count, window_start, locked_until = (
                await connection.execute(
                    select(_table.c.count, _table.c.window_start, _table.c.locked_until)
                    .where(_table.c.key == key)
                    .with_for_update()
                )
            ).one()
            attempts = LoginAttempts(count, window_start, locked_until)
            if wait := attempts.retry_after(now):
                return wait
            counted = attempts.counted(now)
            await connection.execute(
                update(_table)
                .where(_table.c.key == key)
                .values(
                    count=counted.count,
                    window_start=counted.window_start,
                    locked_until=counted.locked_until,
                    expires_at=counted.expires_at,
                )
            )
        return 0

    async def clear(self, key: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(_table).where(_table.c.key == key))

    async def purge(self, now: datetime) -> int:
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(_table).where(_table.c.expires_at <= now))
        return result.rowcount
