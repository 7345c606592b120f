"""The product: an image in, the subject cut out of it, paid for in credits."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from domain import credits
from domain.cutouts import CutoutOptions, CutoutResult, ImageSource, reported_type
from domain.errors import DomainError, InferenceFailed, Unauthorized
from domain.jobs import Job, JobStatus
from domain.pipeline import CutoutPipeline
from domain.ports import Clock, UnitOfWorkFactory
from domain.pricing import SizeChoice
from domain.use_cases.credits import current_balance
from domain.use_cases.job_endings import fail_and_refund
from domain.users import User

log = logging.getLogger(__name__)


@dataclass
class RemoveBackground:
    """Cut the subject out of one image, synchronously.

    Business rules:
    - The image is checked from its header first (format, pixel count), before any credit moves; so
      are the region of interest (against the image's size) and a background image (fetched and probed).
    - The result size follows ``options.size``; its price is ``pricing.price`` (free up to 0.25 MP).
    - A paid cut-out reserves its credit and records a running job in one transaction; the
      reservation fails with ``InsufficientCredits`` and no job when the balance is short, and
      the database makes concurrent reservations unable to overdraw.
    - Any failure after the reservation refunds it (once), and the job is marked failed. A
      process that dies mid-way leaves a job whose lease runs out; the reaper then refunds it.
      So no credit is ever kept for a result that was not delivered.
    - An image in which no subject is found fails with ``UnknownForeground`` (and is refunded).
    - Nothing of the image or of a background image is stored: they live only as long as the
      request (the job recording a paid cut-out keeps its options without the background).
    - Without a user (a signed-out visitor) only a free preview is made.
    """

    uow: UnitOfWorkFactory
    pipeline: CutoutPipeline
    clock: Clock
    deadline: timedelta = timedelta(seconds=60)

    async def __call__(self, user: User | None, source: ImageSource, options: CutoutOptions) -> CutoutResult:
        if user is None and options.size is not SizeChoice.PREVIEW:
            raise Unauthorized()
        data = await self.pipeline.load(source)
        info, options = await self.pipeline.inspect(data, options)
        # Only auto reads the balance (and a visitor never has auto: refused above).
        balance = await current_balance(self.uow, user) if user is not None and options.size is SizeChoice.AUTO else 0
        plan = self.pipeline.plan(info, options, balance)
        job = await self._reserve(user, options, plan.cost) if plan.cost else None
        try:
            render = self.pipeline.render(data, plan.size, options)
            image = await asyncio.wait_for(render, self.deadline.total_seconds())
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
        return CutoutResult(image, plan.cost, reported_type(options.foreground_type, options.type_level))

    async def _reserve(self, user: User | None, options: CutoutOptions, cost: int) -> Job:
        if user is None:  # only a preview is free, and it is all a visitor may have (refused above)
            raise Unauthorized()
        now = self.clock.now()
        job = Job(
            user_id=user.id,
            status=JobStatus.RUNNING,
            options=replace(options, bg_image=None),  # the record keeps nothing of the images
            credits_reserved=cost,
            created_at=now,
            updated_at=now,
            sync=True,
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
        await fail_and_refund(uow, job, code, message, clock.now())
        await uow.commit()
