"""Database failures are never reported as business errors, on SQLite and on MariaDB.

A connection dropped in the middle of a transaction (KILLed by the MariaDB server; closed under
SQLite) and a database that cannot be reached at all surface as ``StorageUnavailable``, never as
``EmailTaken`` or ``AlreadyPosted``; a real duplicate still surfaces as its own error, with its details.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from contract.conftest import MYSQL_URL, _mysql_admin
from fakes import FakeClock
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError

from adapters.sql.engine import create_engine
from adapters.sql.login_attempts import SqlLoginAttempts
from adapters.sql.prediction_inbox import SqlPredictionInbox
from adapters.sql.rate_limiter import SqlRateLimiter
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain import credits
from domain.cutouts import CutoutOptions
from domain.errors import AlreadyPosted, EmailTaken, IdempotencyKeyTaken, StorageUnavailable
from domain.jobs import Job, JobStatus
from domain.rate_limits import RateLimit
from domain.users import User

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
KILL_SECONDS = 30.0


class Connections:
    """Drops the connections the unit of work holds: the MariaDB server KILLs every connection to the
    test's database; under SQLite the driver's connection is closed underneath SQLAlchemy."""

    def __init__(self, factory: SqlUnitOfWorkFactory, database_url: str) -> None:
        self._database = make_url(database_url).database
        self._mysql = factory.engine.dialect.name == "mysql"
        self._begun: list[Connection] = []
        event.listen(factory.engine.sync_engine, "begin", self._begun.append)

    async def drop(self) -> None:
        if self._mysql:
            await asyncio.to_thread(self._kill_all)
        else:
            await self._begun[-1].connection.driver_connection.close()  # type: ignore[union-attr]

    def _kill_all(self) -> None:
        admin = _mysql_admin()
        try:
            with admin.cursor() as cursor:
                cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s", (self._database,))
                ids = [row[0] for row in cursor.fetchall()]
                assert ids, "the unit of work holds no connection to kill"
                for connection_id in ids:
                    cursor.execute(f"KILL {int(connection_id)}")
                deadline = time.monotonic() + KILL_SECONDS
                while time.monotonic() < deadline:
                    cursor.execute(
                        "SELECT count(*) FROM information_schema.processlist WHERE db = %s", (self._database,)
                    )
                    if cursor.fetchone()[0] == 0:
                        return
                    time.sleep(0.05)
                raise AssertionError("the killed connections are still there")
        finally:
            admin.close()


async def new_user(factory: SqlUnitOfWorkFactory, email: str) -> User:
    user = User(uuid.uuid4(), email, "hash", NOW)
    async with factory() as uow:
        await uow.users.add(user)
        await uow.ledger.open_account(user.id)
        await uow.commit()
    return user


async def test_a_sign_up_on_a_dropped_connection_is_storage_unavailable(
    sql_uow: SqlUnitOfWorkFactory, database_url: str
) -> None:
    connections = Connections(sql_uow, database_url)
    user = User(uuid.uuid4(), "ada@example.com", "hash", NOW)
    async with sql_uow() as uow:
        assert await uow.users.get_by_email(user.email) is None  # the transaction holds its connection
        await connections.drop()
        with pytest.raises(StorageUnavailable) as raised:
            await uow.users.add(user)
    assert not isinstance(raised.value, EmailTaken)
    await new_user(sql_uow, user.email)  # nothing was stored, and the next unit of work connects afresh


async def test_a_ledger_post_on_a_dropped_connection_is_storage_unavailable(
    sql_uow: SqlUnitOfWorkFactory, database_url: str
) -> None:
    user = await new_user(sql_uow, "ada@example.com")
    connections = Connections(sql_uow, database_url)
    grant = credits.admin_grant(user.id, 5, NOW)
    async with sql_uow() as uow:
        assert await uow.ledger.balance(user.id) == 0
        await connections.drop()
        with pytest.raises(StorageUnavailable) as raised:
            await uow.ledger.post(grant)
    assert not isinstance(raised.value, AlreadyPosted)
    async with sql_uow() as uow:
        await uow.ledger.post(grant)  # the same booking was never made
        await uow.commit()
    async with sql_uow() as uow:
        assert await uow.ledger.balance(user.id) == 5


async def test_a_commit_on_a_dropped_connection_is_storage_unavailable(
    sql_uow: SqlUnitOfWorkFactory, database_url: str
) -> None:
    connections = Connections(sql_uow, database_url)
    user = User(uuid.uuid4(), "ada@example.com", "hash", NOW)
    async with sql_uow() as uow:
        await uow.users.add(user)
        await connections.drop()
        with pytest.raises(StorageUnavailable):
            await uow.commit()
    async with sql_uow() as uow:
        assert await uow.users.get(user.id) is None


def unreachable(database_url: str, tmp_path: Path) -> str:
    """Where the database was: a directory that is gone (SQLite), a port nobody listens on (MariaDB)."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'cutout.db'}"
    with socket.socket() as probe:  # a free port, closed again
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return make_url(MYSQL_URL).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@pytest.mark.parametrize(
    "use",
    ["unit of work", "ping", "rate limiter", "login attempts", "prediction inbox"],
)
async def test_every_store_on_a_lost_database_is_storage_unavailable(
    database_url: str, tmp_path: Path, use: str
) -> None:
    engine = create_engine(unreachable(database_url, tmp_path))
    factory, clock = SqlUnitOfWorkFactory(engine), FakeClock()
    calls: dict[str, Any] = {
        "unit of work": lambda: new_user(factory, "ada@example.com"),
        "ping": factory.ping,
        "rate limiter": lambda: SqlRateLimiter(engine, clock).hit("ip:1", RateLimit(10, 60)),
        "login attempts": lambda: SqlLoginAttempts(engine).attempt("key", NOW),
        "prediction inbox": lambda: SqlPredictionInbox(engine, clock).get("p1"),
    }
    try:
        with pytest.raises(StorageUnavailable):
            await calls[use]()
    finally:
        await engine.dispose()


async def test_duplicates_keep_their_own_errors_and_details(sql_uow: SqlUnitOfWorkFactory) -> None:
    user = await new_user(sql_uow, "ada@example.com")
    with pytest.raises(EmailTaken) as taken:
        await new_user(sql_uow, "ada@example.com")
    assert taken.value.details == {"field": "email"}

    charge = credits.admin_grant(user.id, 1, NOW)
    async with sql_uow() as uow:
        await uow.ledger.post(charge)
        await uow.commit()
    async with sql_uow() as uow:
        with pytest.raises(AlreadyPosted) as posted:
            await uow.ledger.post(replace(charge, id=uuid.uuid4()))  # the same event, booked anew
    assert posted.value.details == {"kind": charge.kind.value, "reference": charge.reference}

    def job() -> Job:
        return Job(user.id, JobStatus.QUEUED, CutoutOptions(), 1, NOW, NOW, available_at=NOW, idempotency_key="k1")

    async with sql_uow() as uow:
        await uow.jobs.add(job())
        await uow.commit()
    async with sql_uow() as uow:
        with pytest.raises(IdempotencyKeyTaken) as key_taken:
            await uow.jobs.add(job())
    assert key_taken.value.details == {"field": "Idempotency-Key"}


@pytest.mark.parametrize("statement", ["SELECT * FROM no_such_table", "SELECT no_such_column FROM users"])
async def test_a_fault_of_our_own_sql_stays_a_bug_not_storage_unavailable(
    sql_uow: SqlUnitOfWorkFactory, statement: str
) -> None:
    """SQLite reports these as OperationalError, as PyMySQL does an unknown column: still not "try again"."""
    async with sql_uow.engine.connect() as connection:
        with pytest.raises(DBAPIError) as caught:
            await connection.execute(text(statement))
    assert not isinstance(caught.value, StorageUnavailable)
