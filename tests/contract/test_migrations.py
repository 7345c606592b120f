"""The migrations walked both ways, on SQLite and MariaDB: every revision upgrades from its parent,
downgrades back to it and upgrades again (a stairway), then the whole history goes down to an empty
database and up to head, where the schema matches the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine
from adapters.sql.migrate import downgrade, revisions, upgrade
from adapters.sql.models import Base


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
    return names - {"alembic_version"}


async def test_every_revision_upgrades_downgrades_and_upgrades_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        history = revisions()
        assert history[0] == "0001" and len(history) == len(set(history))
        previous = "base"
        for revision in history:
            await upgrade(engine, revision)
            after_up = await _tables(engine)
            await downgrade(engine, previous)
            await upgrade(engine, revision)
            assert await _tables(engine) == after_up, revision
            previous = revision

        await downgrade(engine, "base")
        assert await _tables(engine) == set()
        await upgrade(engine)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": False}), Base.metadata
                )
            )
        assert diff == []
    finally:
        await downgrade(engine, "base")
        await engine.dispose()
