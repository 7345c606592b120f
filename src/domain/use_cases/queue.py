"""The worker's side of the queue: claim, run under a lease, retry or fail, reclaim, expire."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.cutouts import CutoutOptions, ImageSource
from domain.errors import DomainError, InferenceFailed, PriceChanged
from domain.jobs import Job, JobResult, JobStatus, RetryPolicy, result_key
from domain.pipeline import CutoutPipeline
from domain.ports import BlobStore, Clock, UnitOfWork, UnitOfWorkFactory
from domain.use_cases.job_endings import expire, fail_and_refund, succeed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lease:
    """How long a claim holds without a heartbeat, and how often the holder renews it."""

    duration: timedelta = timedelta(seconds=30)

    @property
    def heartbeat_every(self) -> float:
        return self.duration.total_seconds() / 3


@dataclass
class RunJobs:
    """Claim queued jobs and run them.

    Business rules:
    - A job is claimed by exactly one worker: the claim locks its row and skips rows other
      workers hold. It runs under a lease the worker renews by heartbeat (with its progress);
      a worker that stops heartbeating loses the job to ``ReclaimExpiredLeases``.
    - A job is rendered at the size it was paid for: its size choice was settled at submit (``auto``
      included), and a plan that would now cost other than the credits reserved (``PriceChanged``)
      fails the job unrun, refunded.
    - On success the result is stored, then the job is marked succeeded in one transaction that
      also queues its callback; the credit reserved at submit stays charged.
    - A transient failure (a service or the model unavailable, a timeout, an unexpected fault)
      puts the job back in the queue after a backoff with jitter, up to ``RetryPolicy.max_attempts``
      runs; a permanent one (an image or option the pipeline refuses) fails it at once. Failing
      refunds the reserved credit in the same transaction, at most once.
    - A worker that no longer holds its job (reclaimed after a stall) discards its result and
      books nothing: whoever holds the job now decides.
    - A worker told to stop releases the job it holds back to the queue without counting the run.
    """

    uow: UnitOfWorkFactory
    pipeline: CutoutPipeline
    blobs: BlobStore
    clock: Clock
    lease: Lease = field(default_factory=Lease)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    deadline: timedelta = timedelta(seconds=120)

    async def claim(self, worker_id: str) -> Job | None:
        now = self.clock.now()
        async with self.uow() as uow:
            job = await uow.jobs.claim_next(now)
            if job is None:
                return None
            job.start(worker_id, self.lease.duration, now)
            job.progress = 5
            await uow.jobs.save(job)
            await uow.commit()
        return job

    async def run(self, job: Job, worker_id: str) -> None:
        """Run a claimed job to its end (or back to the queue); never raises for the job's own faults.

        Cancelling the caller propagates; the caller then ``release``s the job.
        """
        lost = asyncio.Event()
        work = asyncio.ensure_future(self._produce(job, worker_id))
        beat = asyncio.ensure_future(self._heartbeat(job, worker_id, work, lost))
        try:
            result = await work
        except asyncio.CancelledError:
            if lost.is_set():
                return  # the job was taken from us: nothing is ours to book
            raise
        except Exception as error:
            await self._failed(job, worker_id, error)
            return
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        await self._succeeded(job, worker_id, result)

    async def release(self, job: Job, worker_id: str) -> None:
        """Give a job back to the queue, as if this run never happened."""
        now = self.clock.now()
        async with self.uow() as uow:
            stored = await uow.jobs.lock(job.id)
            if stored is None or not stored.is_held_by(worker_id):
                return
            stored.retry_at(now, "released", "The worker stopped; the job was put back in the queue.", now)
            stored.attempts -= 1
            await uow.jobs.save(stored)
            await uow.commit()

    async def _produce(self, job: Job, worker_id: str) -> JobResult:
        async def progress(percent: int) -> None:
            job.progress = percent
            await self._beat(job, worker_id)

        async with asyncio.timeout(self.deadline.total_seconds()):
            data = await self.blobs.get(job.input_key or "")
            await progress(15)
            # What was reserved is the budget: a job stored before ``auto`` was settled at submit plans the same.
            plan = self.pipeline.plan(self.pipeline.imaging.probe(data), job.options, balance=job.credits_reserved)
            if plan.cost != job.credits_reserved:
                raise PriceChanged(cost=plan.cost, reserved=job.credits_reserved)
            image = await self.pipeline.render(data, plan.size, await self._options(job), progress)
        key = result_key(job.id)
        await self.blobs.put(key, image.data, image.media_type)
        return JobResult(key, image.media_type, image.width, image.height)

    async def _options(self, job: Job) -> CutoutOptions:
        """The job's options with its background image read back from the blob store."""
        if job.background_key is None:
            return job.options
        return replace(job.options, bg_image=ImageSource(data=await self.blobs.get(job.background_key)))

    async def _heartbeat(self, job: Job, worker_id: str, work: asyncio.Future[JobResult], lost: asyncio.Event) -> None:
        while not work.done():
            await asyncio.sleep(self.lease.heartbeat_every)
            if not await self._beat(job, worker_id):
                log.warning("job %s was taken from worker %s; abandoning it", job.id, worker_id)
                lost.set()
                work.cancel()
                return

    async def _beat(self, job: Job, worker_id: str) -> bool:
        async with self.uow() as uow:
            held = await uow.jobs.heartbeat(job.id, worker_id, self.clock.now() + self.lease.duration, job.progress)
            await uow.commit()
        return held

    async def _succeeded(self, job: Job, worker_id: str, result: JobResult) -> None:
        async with self.uow() as uow:
            stored = await uow.jobs.lock(job.id)
            if stored is None or not stored.is_held_by(worker_id):
                await self.blobs.delete(result.key)
                return
            await succeed(uow, stored, result, self.clock.now())
            await uow.commit()

    async def _failed(self, job: Job, worker_id: str, error: Exception) -> None:
        if not (isinstance(error, DomainError) and not error.transient):
            log.warning("job %s failed (attempt %d): %r", job.id, job.attempts, error)
        code, message = _describe(error)
        now = self.clock.now()
        async with self.uow() as uow:
            stored = await uow.jobs.lock(job.id)
            if stored is None or not stored.is_held_by(worker_id):
                return
            if _is_transient(error) and self.retry.may_retry(stored):
                stored.retry_at(now + self.retry.delay(stored.attempts), code, message, now)
                await uow.jobs.save(stored)
            else:
                await fail_and_refund(uow, stored, code, message, now)
            await uow.commit()


def _is_transient(error: Exception) -> bool:
    return error.transient if isinstance(error, DomainError) else True


def _describe(error: Exception) -> tuple[str, str]:
    if isinstance(error, DomainError):
        return error.code, error.message
    if isinstance(error, TimeoutError):
        return "timeout", "The cut-out took longer than allowed."
    return InferenceFailed.code, InferenceFailed.default_message


@dataclass
class ReclaimExpiredLeases:
    """A running job whose lease ran out belongs to a process that died or stalled.

    Business rules: a synchronous cut-out's client has gone, so it is failed and refunded. A
    queued job goes back to the queue while it has runs left, and is otherwise failed and
    refunded. Each job is taken by one reaper (locked rows are skipped). Returns how many."""

    uow: UnitOfWorkFactory
    clock: Clock
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch: int = 100

    async def __call__(self) -> int:
        now = self.clock.now()
        async with self.uow() as uow:
            expired = await uow.jobs.lease_expired(now, self.batch)
            for job in expired:
                await self._reclaim(uow, job, now)
            await uow.commit()
        return len(expired)

    async def _reclaim(self, uow: UnitOfWork, job: Job, now: datetime) -> None:
        message = "The worker stopped before the job finished."
        if not job.sync and self.retry.may_retry(job):
            job.retry_at(now + self.retry.delay(job.attempts), "interrupted", message, now)
            await uow.jobs.save(job)
        else:
            await fail_and_refund(uow, job, "interrupted", message, now)


@dataclass
class PurgeSyncJobRecords:
    """A paid synchronous cut-out is recorded as a job only so that a crash mid-request is refunded
    (by the lease); once it has ended the record has done its work.

    Business rules: an ended (succeeded or failed) synchronous job is deleted once the retention
    window has passed since it was created, like the images of a queued one; a running one is left
    to its lease, and deleted once the reaper has ended it. The ledger keeps its entries: they name
    the job by id only (reference ``job:<id>``, no foreign key), so a charge and its refund stay
    booked exactly once. At most ``batches`` transactions of ``batch`` rows per call, so a backlog
    never holds up the other chores for long. Returns how many were deleted."""

    uow: UnitOfWorkFactory
    clock: Clock
    retention: timedelta
    batch: int = 500
    batches: int = 10

    async def __call__(self) -> int:
        cutoff = self.clock.now() - self.retention
        deleted = 0
        for _ in range(self.batches):
            async with self.uow() as uow:
                done = await uow.jobs.delete_finished_sync(cutoff, self.batch)
                await uow.commit()
            deleted += done
            if done < self.batch:
                break
        return deleted


@dataclass
class ExpireOldJobs:
    """Images are transient: after the retention window a job's input, background and result are deleted.

    Business rules: a succeeded job becomes ``expired`` (its result is gone; it stays charged);
    a job still queued that long becomes ``expired`` and is refunded; a failed or canceled one
    keeps its status and loses its input and background. Blobs are deleted before the rows say so, so a row
    never points at a blob that outlived the window. Anything left in the store past the window
    (an upload whose job was never queued) is swept too. Returns how many jobs were expired."""

    uow: UnitOfWorkFactory
    blobs: BlobStore
    clock: Clock
    retention: timedelta
    batch: int = 100

    async def __call__(self) -> int:
        now = self.clock.now()
        cutoff = now - self.retention
        async with self.uow() as uow:
            due = await uow.jobs.retention_due(cutoff, self.batch)
            for job in due:
                for key in (job.input_key, job.background_key, job.result.key if job.result else None):
                    if key:
                        await self.blobs.delete(key)
                if job.status in (JobStatus.QUEUED, JobStatus.SUCCEEDED):
                    await expire(uow, job, now)
                else:
                    job.input_key = job.background_key = None
                    await uow.jobs.save(job)
            await uow.commit()
        await self.blobs.sweep(cutoff)
        return len(due)
