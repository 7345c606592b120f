"""Worker processes against one MariaDB database and one blob directory: every job ends exactly
once, the ledger charges exactly the jobs that succeeded, and a killed worker's job is taken over."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes import FakeFetcher, FakeRemover
from images import encode
from PIL import Image

from adapters.clock import SystemClock
from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from domain.credits import LedgerKind
from domain.cutouts import CutoutOptions, ImageSource
from domain.jobs import Job, JobStatus
from domain.pipeline import CutoutPipeline
from domain.pricing import SizeChoice
from domain.use_cases.accounts import SignUp
from domain.use_cases.credits import GrantCredits
from domain.use_cases.jobs import SubmitJob
from domain.users import User
from entrypoints.bootstrap import build_blob_store
from entrypoints.settings import Settings

WORKER = Path(__file__).with_name("queue_worker.py")
FULL = CutoutOptions(size=SizeChoice.FULL)
CLAIMED = re.compile(r"job ([0-9a-f-]{36}): run (\d+) by (\S+)")


class Queue:
    """The test's view of the shared database and blob directory, and the worker processes it starts."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.env = {
            **os.environ,
            "CUTOUT_DATABASE_URL": database_url,
            "CUTOUT_DATA_DIR": str(data_dir),
            "CUTOUT_SECRET_KEY": "queue-test",
            "CUTOUT_JOB_LEASE_SECONDS": "2",
            "CUTOUT_WORKER_CONCURRENCY": "2",
        }
        self.settings = Settings.from_env(self.env)
        self.uow = SqlUnitOfWorkFactory(create_engine(database_url))
        blobs, _ = build_blob_store(self.settings, SystemClock())
        self.submit = SubmitJob(
            self.uow,
            CutoutPipeline(PillowImaging(CpuPool()), FakeRemover(), FakeFetcher()),  # submitting only probes
            blobs,
            SystemClock(),
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    def start_worker(self, remover: str = "fast") -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            env={**self.env, "QUEUE_TEST_REMOVER": remover},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
        self.processes.append(process)
        return process

    async def user(self, email: str, credits: int) -> User:
        from fakes import FakeHasher

        user = await SignUp(self.uow, FakeHasher(), SystemClock(), signup_credits=0)(email, "correct horse")
        await GrantCredits(self.uow, SystemClock())(email, credits)
        return user

    async def jobs(self) -> list[Job]:
        async with self.uow() as uow:
            found: list[Job] = []
            for user_id in await self._user_ids(uow):
                page, _ = await uow.jobs.list_for_user(user_id, 1000, 0)
                found.extend(page)
            return found

    async def _user_ids(self, uow: SqlUnitOfWork) -> list[uuid.UUID]:
        from sqlalchemy import select

        from adapters.sql.models import UserRow

        return list(await uow._session.scalars(select(UserRow.id)))

    async def wait_until_all_end(self, timeout: float) -> list[Job]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = await self.jobs()
            if all(job.status.is_terminal for job in jobs):
                return jobs
            await asyncio.sleep(0.2)
        raise AssertionError(f"jobs still open: {[j.status.value for j in jobs if not j.status.is_terminal]}")

    def stop_all(self) -> list[str]:
        """SIGTERM every worker; their logs."""
        logs = []
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
            logs.append(err.decode())
        return logs


@pytest.fixture
async def queue(mysql_database: str, tmp_path: Path) -> AsyncIterator[Queue]:
    engine = create_engine(mysql_database)
    await upgrade(engine)
    await engine.dispose()
    queue = Queue(mysql_database, tmp_path)
    try:
        yield queue
    finally:
        for process in queue.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        async with queue.uow.engine.begin() as connection:
            for table in ["webhook_deliveries", "ledger_entries", "credit_accounts", "jobs", "users"]:
                await connection.exec_driver_sql(f"DELETE FROM {table}")
        await queue.uow.engine.dispose()


def photo(width: int) -> bytes:
    return encode(Image.new("RGB", (width, 500), (90, 140, 200)), "PNG")


@pytest.mark.mysql
async def test_two_workers_end_200_jobs_exactly_once(queue: Queue) -> None:
    users = [await queue.user(f"u{i}@example.com", credits=50) for i in range(4)]
    even, odd = photo(600), photo(601)  # 0.3 MP: each costs a credit; the stand-in refuses odd widths
    submitted = []
    for n in range(200):
        submission = await queue.submit(users[n % 4], ImageSource(data=odd if n % 5 == 0 else even), FULL)
        submitted.append(submission.job.id)

    started = time.monotonic()
    queue.start_worker()
    queue.start_worker()
    jobs = await queue.wait_until_all_end(timeout=120)
    elapsed = time.monotonic() - started
    logs = queue.stop_all()

    assert sorted(j.id for j in jobs) == sorted(submitted)
    succeeded = {j.id for j in jobs if j.status is JobStatus.SUCCEEDED}
    failed = {j.id for j in jobs if j.status is JobStatus.FAILED}
    assert len(succeeded) == 160 and len(failed) == 40
    assert all(j.error_code == "invalid_image" and j.attempts == 1 for j in jobs if j.id in failed)

    runs = [CLAIMED.findall(log) for log in logs]
    assert all(runs), "both workers took jobs"
    claimed = [job_id for worker_runs in runs for job_id, _, _ in worker_runs]
    assert sorted(claimed) == sorted(str(job_id) for job_id in submitted)  # each job run once, by one worker

    async with queue.uow() as uow:
        for user in users:
            entries, _ = await uow.ledger.entries(user.id, 1000, 0)
            balance = await uow.ledger.balance(user.id)
            assert balance == sum(e.delta for e in entries)
            charged = {e.job_id for e in entries if e.kind is LedgerKind.CHARGE}
            refunded = {e.job_id for e in entries if e.kind is LedgerKind.REFUND}
            mine = {j.id for j in jobs if j.user_id == user.id}
            assert charged == mine and refunded == mine & failed
            assert balance == 50 - len(mine & succeeded)
    print(f"\n200 jobs through 2 workers in {elapsed:.1f} s: {200 / elapsed:.0f} jobs/s")


@pytest.mark.mysql
async def test_a_killed_workers_job_is_taken_over_once_its_lease_runs_out(queue: Queue) -> None:
    user = await queue.user("k@example.com", credits=1)
    job_id = (await queue.submit(user, ImageSource(data=photo(600)), FULL)).job.id
    doomed = queue.start_worker(remover="slow")
    deadline = time.monotonic() + 60  # a worker process starting on a busy machine
    while (job := (await queue.jobs())[0]).status is not JobStatus.RUNNING and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert job.status is JobStatus.RUNNING and job.lease_expires_at is not None
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()

    queue.start_worker()
    [job] = await queue.wait_until_all_end(timeout=120)
    queue.stop_all()
    assert job.id == job_id and job.status is JobStatus.SUCCEEDED and job.attempts == 2
    async with queue.uow() as uow:
        assert await uow.ledger.balance(user.id) == 0  # charged once, not twice, not refunded
