"""Migrated databases for the contract tests, shared by the fixtures of ``conftest.py`` and the suites
that build their own subject on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.models import Base
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory


def database_url_for(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cutout.db'}"
    return str(request.getfixturevalue("mysql_database"))


@asynccontextmanager
async def migrated(database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """A migrated, empty database, left empty."""
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        if engine.dialect.name == "mysql":  # the module shares one database: leave it empty
            async with engine.begin() as connection:
                for table in reversed(Base.metadata.sorted_tables):
                    await connection.execute(table.delete())
        await engine.dispose()
