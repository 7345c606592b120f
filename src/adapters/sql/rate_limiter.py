"""Fixed-window rate limits counted in the shared database, so every server process sees one count."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Insert, delete, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.models import Base, RateLimitRow
from domain.ports import Clock
from domain.rate_limits import RateLimit, RateLimitState

_table = Base.metadata.tables[RateLimitRow.__tablename__]


class SqlRateLimiter:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._mysql = engine.dialect.name == "mysql"

    async def hit(self, key: str, rule: RateLimit) -> RateLimitState:
        now = self._clock.now()
        start = rule.window_start(now)
        end = start + rule.window_seconds
        row = {"bucket": key, "window_start": start, "hits": 1, "expires_at": end}
        statement: Insert = (
            mysql.insert(_table).values(row).on_duplicate_key_update(hits=_table.c.hits + 1)
            if self._mysql
            else sqlite.insert(_table)
            .values(row)
            .on_conflict_do_update(index_elements=["bucket", "window_start"], set_={"hits": _table.c.hits + 1})
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
            hits = (
                await connection.execute(
                    select(_table.c.hits).where(_table.c.bucket == key, _table.c.window_start == start)
                )
            ).scalar_one()
            if hits == 1:  # the first hit of a window clears the key's finished windows
                await connection.execute(delete(_table).where(_table.c.bucket == key, _table.c.expires_at <= start))
        return RateLimitState(
            allowed=hits <= rule.limit,
            limit=rule.limit,
            remaining=max(0, rule.limit - hits),
            reset_at=datetime.fromtimestamp(end, UTC),
        )

    async def purge(self, now: datetime) -> int:
        """Delete the rows of every finished window (of keys that were not hit again)."""
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(_table).where(_table.c.expires_at <= int(now.timestamp())))
        return result.rowcount
