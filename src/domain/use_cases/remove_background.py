"""The product: an image in, the subject cut out of it, paid for in credits."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import credits
from domain.cutouts import MAX_UPLOAD_BYTES, CutoutOptions, CutoutResult, ImageSource, RenderedImage
from domain.errors import DomainError, InferenceFailed, Unauthorized
from domain.jobs import Job, JobStatus
from domain.ports import BackgroundRemover, Clock, Imaging, UnitOfWork, UnitOfWorkFactory, UrlFetcher
from domain.pricing import SizeChoice, output_size, price
from domain.users import User

log = logging.getLogger(__name__)


@dataclass
class RemoveBackground:
    """Cut the subject out of one image, synchronously.

    Business rules:
    - The image is checked from its header first (format, pixel count), before any credit moves.
    - The result size follows ``options.size``; its price is ``pricing.price`` (free up to 0.25 MP).
    - A paid cut-out reserves its credit and records a running job in one transaction; the
      reservation fails with ``InsufficientCredits`` and no job when the balance is short, and
      the database makes concurrent reservations unable to overdraw.
    - Any failure after the reservation refunds it (once), and the job is marked failed. A
      process that dies mid-way leaves a job whose lease runs out; ``ReclaimExpiredLeases``
      then refunds it. So no credit is ever kept for a result that was not delivered.
    - Without a user (a signed-out visitor) only a free preview is made.
    """

    uow: UnitOfWorkFactory
    imaging: Imaging
    remover: BackgroundRemover
    fetcher: UrlFetcher
    clock: Clock
    deadline: timedelta = timedelta(seconds=60)

    async def __call__(self, user: User | None, source: ImageSource, options: CutoutOptions) -> CutoutResult:
        if user is None and options.size is not SizeChoice.PREVIEW:
            raise Unauthorized()
        data = source.data if source.data is not None else await self.fetcher.fetch(source.url or "", MAX_UPLOAD_BYTES)
        info = self.imaging.probe(data)
        self.imaging.check_options(options)
        balance = await self._balance(user) if options.size is SizeChoice.AUTO else 0  # only auto reads it
        size = output_size(info.width, info.height, options.size, balance)
        cost = price(size[0] * size[1])
        job = await self._reserve(user, options, cost) if cost else None
        try:
            image = await asyncio.wait_for(self._render(data, size, options), self.deadline.total_seconds())
        except BaseException as error:
            if job is not None:
                await self._refund(job, error)
            if isinstance(error, DomainError):
                raise
            if isinstance(error, Exception):
                log.exception("cut-out failed")
                raise InferenceFailed() from error
            raise
        if job is not None:
            await self._finish(job)
        return CutoutResult(image, cost)

    async def _balance(self, user: User) -> int:
        async with self.uow() as uow:
            return await uow.ledger.balance(user.id)

    async def _render(self, data: bytes, size: tuple[int, int], options: CutoutOptions) -> RenderedImage:
        picture = await self.imaging.decode(data, size)
        mask = await self.remover.mask(picture)
        return await self.imaging.render(picture, mask, options)

    async def _reserve(self, user: User, options: CutoutOptions, cost: int) -> Job:
        now = self.clock.now()
        job = Job(
            user_id=user.id,
            status=JobStatus.RUNNING,
            options={"size": options.size.value, "format": options.format.value, "sync": True},
            credits_reserved=cost,
            created_at=now,
            updated_at=now,
            # The lease outlives the deadline, so only a dead process lets it run out.
            lease_expires_at=now + self.deadline * 2,
            attempts=1,
        )
        async with self.uow() as uow:
            await uow.jobs.add(job)
            await uow.ledger.post(credits.job_charge(user.id, job.id, cost, now))
            await uow.commit()
        return job

    async def _refund(self, job: Job, error: BaseException) -> None:
        code = error.code if isinstance(error, DomainError) else InferenceFailed.code
        try:
            await refund_job(self.uow, self.clock, job.id, code, str(error) or type(error).__name__)
        except Exception:  # the lease will run out and the reaper refunds; the user's error matters more
            log.exception("refund of job %s failed; left to the reaper", job.id)

    async def _finish(self, job: Job) -> None:
        async with self.uow() as uow:
            stored = await uow.jobs.lock(job.id)
            if stored is None:
                raise InferenceFailed()
            stored.move_to(JobStatus.SUCCEEDED, self.clock.now())
            await uow.jobs.save(stored)
            await uow.commit()


async def refund_job(uow_factory: UnitOfWorkFactory, clock: Clock, job_id: uuid.UUID, code: str, message: str) -> None:
    """Fail a running job and return its reserved credits, in one transaction, at most once."""
    async with uow_factory() as uow:
        job = await uow.jobs.lock(job_id)
        if job is None or job.status.is_terminal:
            return
        await _fail_and_refund(uow, job, code, message, clock.now())
        await uow.commit()


async def _fail_and_refund(uow: UnitOfWork, job: Job, code: str, message: str, now: datetime) -> None:
    job.fail(code, message, now)
    await uow.jobs.save(job)
    if job.credits_reserved:
        await uow.ledger.post(credits.job_refund(job.user_id, job.id, job.credits_reserved, now))


@dataclass
class ReclaimExpiredLeases:
    """Jobs still running after their lease belong to a process that died: fail them and
    refund their credits. Returns how many were reclaimed."""

    uow: UnitOfWorkFactory
    clock: Clock
    batch: int = 100

    async def __call__(self) -> int:
        now = self.clock.now()
        async with self.uow() as uow:
            expired = await uow.jobs.lease_expired(now, self.batch)
            for job in expired:
                await _fail_and_refund(uow, job, "interrupted", "The server stopped before the job finished.", now)
            await uow.commit()
        return len(expired)
