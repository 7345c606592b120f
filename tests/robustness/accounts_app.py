"""The real app on SQLite or MariaDB for the account attacks: each test gets an empty, migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from api.conftest import make_settings
from fakes import FakeClock
from litestar.testing import AsyncTestClient
from robustness.real_app import emptied, migrated, real_adapters

from adapters.sql.rate_limiter import SqlRateLimiter
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from entrypoints.http.app import create_app
from entrypoints.worker import Schedule

PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", "mysql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database, left empty afterwards (the MariaDB one is shared by the module)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cutout.db'}"
    if request.param == "mysql":
        url = request.getfixturevalue("mysql_database")
    await migrated(url)
    yield url
    await emptied(url)


@asynccontextmanager
async def app_client(
    database_url: str,
    tmp_path: Path,
    schedule: Schedule | None = None,
    clock: FakeClock | None = None,
    **env: str,
) -> AsyncIterator[AsyncTestClient[Any]]:
    """A client of the real app (real SQL adapters, its own engine) with ``env`` as its environment.
    With ``clock``, the app and its rate limiter run on it, so no window ends mid-test."""
    settings = make_settings(tmp_path, CUTOUT_SERVER_WORKER="false", **env)
    adapters = real_adapters(database_url)
    if clock is not None:
        assert isinstance(adapters.uow, SqlUnitOfWorkFactory)
        adapters.clock, adapters.rate_limiter = clock, SqlRateLimiter(adapters.uow.engine, clock)
    async with AsyncTestClient(create_app(settings, adapters, schedule)) as client:
        yield client


async def signed_up(client: AsyncTestClient[Any], email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


def csrf(client: AsyncTestClient[Any]) -> dict[str, str]:
    return {"X-CSRFToken": client.cookies["csrftoken"]}


async def new_key(client: AsyncTestClient[Any], name: str = "key") -> Any:
    return await client.post("/api/v1/api-keys", json={"name": name}, headers=csrf(client))


def login(client: AsyncTestClient[Any], email: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})
