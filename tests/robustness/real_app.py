"""The app the robustness suite attacks: real SQL, real imaging, and only what must be cheap or offline faked."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fakes import CentreMaskRemover, FakeFetcher, FakeHasher

from adapters.clock import SystemClock
from adapters.cpu import CpuPool
from adapters.fs_store import FsBlobStore
from adapters.imaging import PillowImaging
from adapters.sql.engine import create_engine
from adapters.sql.login_attempts import SqlLoginAttempts
from adapters.sql.migrate import upgrade
from adapters.sql.models import Base
from adapters.sql.rate_limiter import SqlRateLimiter
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.webhook_sender import SignedWebhookSender
from entrypoints.bootstrap import Adapters


async def migrated(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def emptied(database_url: str) -> None:
    """Delete every row of our tables (a MariaDB database is shared by a test module)."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(table.delete())
    finally:
        await engine.dispose()


def real_adapters(database_url: str, **overrides: Any) -> Adapters:
    """Real database, imaging, CPU pool, blob store (a temp directory) and callback sender.
    Fakes: the password hasher (argon2 would dominate the
    run time), the model (a centred ellipse instead of 0.3 s of U2-Net-p) and the URL fetcher
    (fetches nothing), unless ``overrides`` says otherwise."""
    uow = SqlUnitOfWorkFactory(create_engine(database_url))
    clock = SystemClock()
    parts: dict[str, Any] = {
        "uow": uow,
        "hasher": FakeHasher(),
        "clock": clock,
        "imaging": PillowImaging(CpuPool()),
        "remover": CentreMaskRemover(),
        "fetcher": FakeFetcher(),
        "rate_limiter": SqlRateLimiter(uow.engine, clock),
        "login_attempts": SqlLoginAttempts(uow.engine),
        "blob_store": FsBlobStore(Path(tempfile.mkdtemp(prefix="cutout-blobs-")), "http://127.0.0.1", "secret", clock),
        "webhook_sender": SignedWebhookSender(),
        "closers": [uow.engine.dispose],
    }
    parts.update(overrides)
    return Adapters(**parts)
