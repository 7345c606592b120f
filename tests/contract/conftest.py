"""Real databases for the SQL adapter: SQLite in a temp dir, and a fresh MariaDB/MySQL database per test module;
and ``uow_factory``, which runs a repository contract on both and on the in-memory fake."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pymysql
import pytest
from contract.databases import database_url_for, migrated
from fake_replicate import FakeReplicate
from fakes import FakeClock, FakeUnitOfWorkFactory
from services import require_service
from sqlalchemy.engine import make_url

from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.prediction_inbox import SqlPredictionInbox
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.ports import UnitOfWorkFactory

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
    return database_url_for(request, tmp_path, request.param)


@pytest.fixture
async def sql_uow(database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """A migrated, empty database, for the tests that need SQL itself (raw queries, several connections)."""
    async with migrated(database_url) as factory:
        yield factory


@pytest.fixture(params=["sqlite", "mysql", "fake"])
async def uow_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    """The unit of work on SQLite, on MariaDB and in memory (``tests/fakes.py``): one contract for all three,
    so the fake the unit and API tests rest on behaves like the databases."""
    if request.param == "fake":
        yield FakeUnitOfWorkFactory()
        return
    async with migrated(database_url_for(request, tmp_path, request.param)) as factory:
        yield factory


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
