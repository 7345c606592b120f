"""How a job ends, in the caller's transaction: its status, its credits and its callback move together."""

from __future__ import annotations

from datetime import datetime

from domain import credits
from domain.jobs import Job, JobResult, JobStatus
from domain.ports import UnitOfWork
from domain.webhooks import WebhookDelivery


async def fail_and_refund(uow: UnitOfWork, job: Job, code: str, message: str, now: datetime) -> None:
    job.fail(code, message, now)
    await _refund_and_save(uow, job, now)


async def cancel_and_refund(uow: UnitOfWork, job: Job, now: datetime) -> None:
    job.move_to(JobStatus.CANCELED, now)
    await _refund_and_save(uow, job, now)


async def expire(uow: UnitOfWork, job: Job, now: datetime) -> None:
    """A queued job that was never run is refunded; a succeeded one has delivered what it was paid for."""
    was_queued = job.status is JobStatus.QUEUED
    job.move_to(JobStatus.EXPIRED, now)
    job.result = None
    job.input_key = job.background_key = None
    if was_queued:
        await _refund_and_save(uow, job, now)
    else:
        await uow.jobs.save(job)


async def succeed(uow: UnitOfWork, job: Job, result: JobResult | None, now: datetime) -> None:
    job.move_to(JobStatus.SUCCEEDED, now)
    job.result = result
    await uow.jobs.save(job)
    await _queue_callback(uow, job, now)


async def _refund_and_save(uow: UnitOfWork, job: Job, now: datetime) -> None:
    await uow.jobs.save(job)
    if job.credits_reserved:
        await uow.ledger.post(credits.job_refund(job.user_id, job.id, job.credits_reserved, now))
    await _queue_callback(uow, job, now)


async def _queue_callback(uow: UnitOfWork, job: Job, now: datetime) -> None:
    if job.callback_url:
        await uow.webhooks.add(WebhookDelivery(job.id, job.user_id, job.callback_url, now, next_attempt_at=now))
