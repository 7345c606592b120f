"""A worker process for the queue tests: the real worker loop, SQL database and blob store,
with a stand-in remover so hundreds of jobs take seconds, not minutes.

``QUEUE_TEST_REMOVER``: ``fast`` masks at once and refuses pictures of odd width as a
permanent failure; ``slow`` takes a minute per job (to be killed mid-job).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for fakes

from fakes import CentreMaskRemover, FakeFetcher, FakeHasher, FakeLoginAttempts, FakeRateLimiter, FakeWebhookSender  # noqa: E402

from adapters.clock import SystemClock  # noqa: E402
from adapters.cpu import CpuPool  # noqa: E402
from adapters.imaging import PillowImaging  # noqa: E402
from adapters.sql.engine import create_engine  # noqa: E402
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory  # noqa: E402
from domain.errors import InvalidImage  # noqa: E402
from entrypoints.bootstrap import Adapters, build_blob_store, wire  # noqa: E402
from entrypoints.settings import Settings  # noqa: E402
from entrypoints.worker import Schedule, Worker, new_worker_id, run_until_stopped, stop_on_signals  # noqa: E402


class StandInRemover(CentreMaskRemover):
    def __init__(self, slow: bool) -> None:
        super().__init__()
        self.slow = slow

    async def mask(self, picture: Any) -> Any:
        if self.slow:
            await asyncio.sleep(60)
        if picture.width % 2:
            raise InvalidImage("odd widths are refused by this stand-in")
        return await super().mask(picture)


async def main() -> None:
    settings = Settings.from_env()
    clock = SystemClock()
    uow = SqlUnitOfWorkFactory(create_engine(settings.database_url))
    blobs, closers = build_blob_store(settings, clock)
    adapters = Adapters(
        uow=uow,
        hasher=FakeHasher(),
        clock=clock,
        imaging=PillowImaging(CpuPool()),
        remover=StandInRemover(slow=os.environ.get("QUEUE_TEST_REMOVER") == "slow"),
        fetcher=FakeFetcher(),
        rate_limiter=FakeRateLimiter(),
        login_attempts=FakeLoginAttempts(),
        blob_store=blobs,
        webhook_sender=FakeWebhookSender(),
        closers=[uow.engine.dispose, *closers],
    )
    worker = Worker(
        await wire(settings, adapters), settings.worker_concurrency, Schedule.for_settings(settings), new_worker_id()
    )
    stop = asyncio.Event()
    stop_on_signals(stop)
    print("ready", flush=True)
    try:
        await run_until_stopped(worker, stop, grace=5)
    finally:
        await adapters.aclose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    asyncio.run(main())
