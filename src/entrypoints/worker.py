"""The queue's worker loop: job slots that claim and run jobs, and the chores every process
shares (reclaiming stalled jobs, deleting expired images and old synchronous job records, sending
callbacks, purging ended sessions, rate-limit windows and login attempts).

``cutout worker`` runs it as its own process; ``cutout serve`` runs one inside the server so
the embedded default needs nothing else. Any number of them can share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.jobs import Job
from entrypoints.bootstrap import Services
from entrypoints.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Schedule:
    """How often each loop looks for work, in seconds."""

    poll: float = 0.5
    callbacks: float = 1.0
    reclaim: float = 10.0
    retention: float = 60.0
    sync_job_records: float = 60.0
    purge: float = 300.0

    @classmethod
    def for_settings(cls, settings: Settings) -> Schedule:
        """Reclaim within half a lease, and sweep at least four times per retention window."""
        quarter_window = min(60.0, max(1.0, settings.retention_hours * 3600 / 4))
        return cls(
            reclaim=min(10.0, settings.job_lease_seconds / 2),
            retention=quarter_window,
            sync_job_records=quarter_window,
        )


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Worker:
    services: Services
    concurrency: int
    schedule: Schedule
    worker_id: str

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; jobs in hand are finished first. Cancelling releases them."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self.concurrency):
                group.create_task(self._slot(stop))
            group.create_task(self._chores(stop))

    async def _slot(self, stop: asyncio.Event) -> None:
        run_jobs = self.services.run_jobs
        while not stop.is_set():
            try:
                job = await run_jobs.claim(self.worker_id)
            except Exception:
                log.exception("claiming a job failed; retrying")
                job = None
            if job is None:
                await _wait(stop, self.schedule.poll)
                continue
            await self._run(job)

    async def _run(self, job: Job) -> None:
        log.info("job %s: run %d by %s", job.id, job.attempts, self.worker_id)
        try:
            await self.services.run_jobs.run(job, self.worker_id)
        except asyncio.CancelledError:
            await self.services.run_jobs.release(job, self.worker_id)
            raise
        except Exception:  # the database went away mid-job: the lease runs out and the job is reclaimed
            log.exception("job %s could not be booked", job.id)

    async def _chores(self, stop: asyncio.Event) -> None:
        chores: list[tuple[str, float, Callable[[], Awaitable[int]]]] = [
            ("send callbacks", self.schedule.callbacks, self.services.deliver_callbacks),
            ("reclaim stalled jobs", self.schedule.reclaim, self.services.reclaim_expired_leases),
            ("expire old images", self.schedule.retention, self.services.expire_old_jobs),
            ("purge ended sync job records", self.schedule.sync_job_records, self.services.purge_sync_job_records),
            ("purge expired records", self.schedule.purge, self.services.purge_expired_records),
        ]
        loop = asyncio.get_running_loop()
        due = dict.fromkeys((name for name, _, _ in chores), loop.time())
        while not stop.is_set():
            for name, interval, chore in chores:
                if loop.time() < due[name]:
                    continue
                due[name] = loop.time() + interval
                try:
                    if done := await chore():
                        log.info("%s: %d", name, done)
                except Exception:
                    log.exception("%s failed; will retry", name)
            await _wait(stop, min(interval for _, interval, _ in chores))


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_until_stopped(worker: Worker, stop: asyncio.Event, grace: float) -> None:
    """Run ``worker``; once ``stop`` is set, give its jobs ``grace`` seconds to finish, then release them."""
    task = asyncio.create_task(worker.run(stop))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.warning("jobs still running after %.0f s; releasing them to the queue", grace)
            task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM or SIGINT: stop claiming and finish (or release) what is held."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
