"""Real databases for the SQL adapter: SQLite in a temp dir, and a fresh MariaDB/MySQL database per test module."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pymysql
import pytest
from fake_replicate import FakeReplicate
from fakes import FakeClock
from services import require_service
from sqlalchemy.engine import make_url

from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.models import Base
from adapters.sql.prediction_inbox import SqlPredictionInbox
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory

MYSQL_URL = os.environ.get("CUTOUT_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/test")


def _mysql_admin() -> pymysql.connections.Connection:
    url = make_url(MYSQL_URL)
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        connect_timeout=3,
    )


@pytest.fixture(scope="module")
def mysql_database() -> Iterator[str]:
    """A database of this module's own on the MySQL server, dropped afterwards."""
    try:
        admin = _mysql_admin()
    except pymysql.err.OperationalError as error:
        require_service(False, f"MySQL at {MYSQL_URL} ({error})")
        raise
    name = f"cutout_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield make_url(MYSQL_URL).set(database=name, query={"charset": "utf8mb4"}).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE `{name}`")
        admin.close()


@pytest.fixture(params=["sqlite", "mysql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cutout.db'}"
    return request.getfixturevalue("mysql_database")


@pytest.fixture
async def sql_uow(database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """A migrated, empty database."""
    engine = create_engine(database_url)
    await upgrade(engine)
    factory = SqlUnitOfWorkFactory(engine)
    try:
        yield factory
    finally:
        if engine.dialect.name == "mysql":  # the module shares one database: leave it empty
            async with engine.begin() as connection:
                for table in reversed(Base.metadata.sorted_tables):
                    await connection.execute(table.delete())
        await engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeReplicate]:
    """Our Replicate-compatible HTTP server on loopback, for the real ``replicate`` client."""
    with FakeReplicate() as server:
        yield server


@pytest.fixture
async def inbox(tmp_path: Path) -> AsyncIterator[SqlPredictionInbox]:
    """The Replicate webhook inbox on a migrated SQLite database of its own."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")
    await upgrade(engine)
    yield SqlPredictionInbox(engine, FakeClock())
    await engine.dispose()
