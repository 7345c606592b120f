"""The real app serving the queue on loopback (real SQL, imaging, blob store, and its own worker loop),
and what the job tests do with it: accounts with a given balance, submitting, waiting for an ending."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api.conftest import make_settings
from robustness.live_server import serve_in_thread
from robustness.real_app import emptied, migrated, real_adapters

from adapters.clock import SystemClock
from adapters.sql.engine import create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.use_cases.credits import GrantCredits
from entrypoints.http.app import create_app
from entrypoints.worker import Schedule

PASSWORD = "correct horse battery"
JOB_TIMEOUT_SECONDS = 120.0
FAST = Schedule(poll=0.05, callbacks=0.1, reclaim=1.0, retention=60.0)


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database: SQLite in a temp dir, or this module's MariaDB database emptied first."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'cutout.db'}"
    else:
        url = request.getfixturevalue("mysql_database")
    asyncio.run(migrated(url))
    if request.param == "mysql":
        asyncio.run(emptied(url))
    return url


@contextlib.contextmanager
def served(
    database_url: str, data_dir: Path, schedule: Schedule = FAST, env: dict[str, str] | None = None, **overrides: Any
) -> Iterator[str]:
    """The app from ``create_app`` on ``database_url``, sign-ups granting nothing, with its worker loop;
    ``env`` adds settings, ``overrides`` replaces adapters."""
    settings = make_settings(data_dir, CUTOUT_SIGNUP_CREDITS="0", **(env or {}))
    with serve_in_thread(create_app(settings, real_adapters(database_url, **overrides), schedule)) as base:
        yield base


@contextlib.asynccontextmanager
async def account(base: str, database_url: str, email: str, credits: int) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the API key of a new account with ``credits`` (granted by the operator's use case)."""
    async with httpx.AsyncClient(base_url=base, timeout=JOB_TIMEOUT_SECONDS) as client:
        await _sign_up(client, database_url, email, credits)
        yield client


async def _sign_up(client: httpx.AsyncClient, database_url: str, email: str, credits: int) -> None:
    signed = await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert signed.status_code == 201, signed.text
    created = await client.post(
        "/api/v1/api-keys", json={"name": "test"}, headers={"X-CSRFToken": client.cookies["csrftoken"]}
    )
    assert created.status_code == 201, created.text
    client.cookies.clear()
    client.headers["X-Api-Key"] = created.json()["key"]
    if credits:
        engine = create_engine(database_url)
        try:
            await GrantCredits(SqlUnitOfWorkFactory(engine), SystemClock())(email, credits)
        finally:
            await engine.dispose()


async def finished(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """The job's document once it has ended (polled; the timeout is generous, never a measurement)."""
    async with asyncio.timeout(JOB_TIMEOUT_SECONDS):
        while True:
            job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
            if job["status"] not in ("queued", "running"):
                return job
            await asyncio.sleep(0.05)
