"""The asynchronous API as its callers see it: submit, look, list, cancel, fetch the result."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from domain import credits
from domain.cutouts import CutoutOptions, ImageSource
from domain.errors import (
    IdempotencyKeyReused,
    IdempotencyKeyTaken,
    IllegalTransition,
    InvalidRequest,
    NotFound,
    ResultExpired,
    ResultNotReady,
)
from domain.jobs import Job, JobResult, JobStatus, background_key, fingerprint, input_key
from domain.paging import check_page
from domain.pipeline import CutoutPipeline
from domain.ports import BlobStore, Clock, UnitOfWork, UnitOfWorkFactory
from domain.pricing import SizeChoice
from domain.use_cases.credits import current_balance
from domain.use_cases.job_endings import cancel_and_refund
from domain.users import User
from domain.webhooks import check_callback_url, new_secret

MAX_IDEMPOTENCY_KEY_LENGTH = 255
RESULT_URL_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Submission:
    job: Job
    created: bool
    """False when an earlier submission with the same Idempotency-Key is returned instead."""


@dataclass
class SubmitJob:
    """Queue one cut-out for a worker.

    Business rules:
    - The same checks as the synchronous route run before anything is stored or charged: the
      source, the image header, the options and the shape of ``callback_url``.
    - The price is reserved at submit: the job's charge is posted in the transaction that
      queues it, so a short balance refuses the job (``InsufficientCredits``) and stores nothing.
      ``size=auto`` is settled then, by the balance at submit: the job keeps the size choice it
      is paid for (full or preview), which is what the worker renders.
      A job that then fails, is canceled or expires unrun is refunded once.
    - An ``Idempotency-Key`` makes retrying safe: the same key with the same request answers the
      first job and charges nothing more; with another request it is refused
      (``IdempotencyKeyReused``). A unique (user, key) index settles concurrent retries. Requests
      are compared by ``fingerprint``, taken only when a key is given.
    - The input, and a background image, go to the blob store before the job is queued (the job
      keeps only their keys, never their bytes) and are deleted if queueing fails.
    - A job with a callback gives its owner a webhook signing secret if they had none.
    """

    uow: UnitOfWorkFactory
    pipeline: CutoutPipeline
    blobs: BlobStore
    clock: Clock

    async def __call__(
        self,
        user: User,
        source: ImageSource,
        options: CutoutOptions,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Submission:
        if callback_url:
            callback_url = check_callback_url(callback_url)
        if idempotency_key is not None:
            idempotency_key = _check_idempotency_key(idempotency_key)
        data = await self.pipeline.load(source)
        print_ = None
        if idempotency_key is not None:
            print_ = fingerprint(ImageSource(data=data), options, callback_url)
            if earlier := await self._earlier(user, idempotency_key, print_):
                return Submission(earlier, created=False)
        info, options = await self.pipeline.inspect(data, options)
        balance = await current_balance(self.uow, user) if options.size is SizeChoice.AUTO else 0
        plan = self.pipeline.plan(info, options, balance)
        background = options.bg_image.data if options.bg_image is not None else None
        # What the worker renders, whatever the balance then; the background waits in the blob store.
        options = replace(options, size=plan.choice, bg_image=None)
        now = self.clock.now()
        job = Job(
            user_id=user.id,
            status=JobStatus.QUEUED,
            options=options,
            credits_reserved=plan.cost,
            created_at=now,
            updated_at=now,
            available_at=now,
            idempotency_key=idempotency_key,
            fingerprint=print_,
            callback_url=callback_url or None,
        )
        try:
            await self._store_images(job, data, background)
            await self._queue(job)
        except IdempotencyKeyTaken:
            await self._delete_images(job)
            earlier = await self._earlier(user, idempotency_key or "", print_ or "")
            if earlier is None:  # the other submission was rolled back after all
                raise
            return Submission(earlier, created=False)
        except BaseException:
            await self._delete_images(job)
            raise
        return Submission(job, created=True)

    async def _store_images(self, job: Job, data: bytes, background: bytes | None) -> None:
        job.input_key = input_key(job.id)
        await self.blobs.put(job.input_key, data, "application/octet-stream")
        if background is not None:
            job.background_key = background_key(job.id)
            await self.blobs.put(job.background_key, background, "application/octet-stream")

    async def _delete_images(self, job: Job) -> None:
        for key in (job.input_key, job.background_key):
            if key:
                await self.blobs.delete(key)

    async def _earlier(self, user: User, key: str, print_: str) -> Job | None:
        async with self.uow() as uow:
            earlier = await uow.jobs.get_by_idempotency_key(user.id, key)
        if earlier is not None and earlier.fingerprint != print_:
            raise IdempotencyKeyReused(field="Idempotency-Key", job_id=str(earlier.id))
        return earlier

    async def _queue(self, job: Job) -> None:
        async with self.uow() as uow:
            await uow.jobs.add(job)
            if job.credits_reserved:
                await uow.ledger.post(credits.job_charge(job.user_id, job.id, job.credits_reserved, job.created_at))
            if job.callback_url:
                await _ensure_webhook_secret(uow, job.user_id)
            await uow.commit()


def _check_idempotency_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest("An Idempotency-Key is 1 to 255 printable characters.", field="Idempotency-Key")
    return key


async def _ensure_webhook_secret(uow: UnitOfWork, user_id: uuid.UUID) -> str:
    owner = await uow.users.get(user_id)
    if owner is None:
        raise NotFound()
    if owner.webhook_secret is None:
        owner.webhook_secret = new_secret()
        await uow.users.set_webhook_secret(user_id, owner.webhook_secret)
    return owner.webhook_secret


@dataclass
class GetJob:
    """A user sees their own jobs only: anyone else's is "not found", never "forbidden"."""

    uow: UnitOfWorkFactory

    async def __call__(self, user: User, job_id: uuid.UUID) -> Job:
        async with self.uow() as uow:
            job = await uow.jobs.get(job_id)
        if job is None or job.user_id != user.id or job.sync:
            raise NotFound("No such job.")
        return job


@dataclass
class ListJobs:
    """The user's own asynchronous jobs, newest first, a page at a time."""

    uow: UnitOfWorkFactory

    async def __call__(self, user: User, limit: int = 20, offset: int = 0) -> tuple[Sequence[Job], int]:
        check_page(limit, offset)
        async with self.uow() as uow:
            return await uow.jobs.list_for_user(user.id, limit, offset)


@dataclass
class CancelJob:
    """Only a job still waiting in the queue can be canceled; its credit is refunded at once.
    A running job finishes (or fails and is refunded) on its own."""

    uow: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, user: User, job_id: uuid.UUID) -> Job:
        async with self.uow() as uow:
            job = await uow.jobs.lock(job_id)
            if job is None or job.user_id != user.id or job.sync:
                raise NotFound("No such job.")
            if job.status is not JobStatus.QUEUED:
                raise IllegalTransition(f"A {job.status.value} job cannot be canceled.", status=job.status.value)
            await cancel_and_refund(uow, job, self.clock.now())
            await uow.commit()
        return job


@dataclass(frozen=True, slots=True)
class ResultLink:
    result: JobResult
    url: str


@dataclass
class GetJobResult:
    """A succeeded job's result, as a time-limited link; after the retention window it is gone."""

    get_job: GetJob
    blobs: BlobStore

    async def __call__(self, user: User, job_id: uuid.UUID) -> ResultLink:
        job = await self.get_job(user, job_id)
        return await result_link(job, self.blobs)


async def result_link(job: Job, blobs: BlobStore) -> ResultLink:
    if job.status is JobStatus.EXPIRED:
        raise ResultExpired()
    if job.status is not JobStatus.SUCCEEDED or job.result is None:
        raise ResultNotReady(status=job.status.value)
    extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(job.result.media_type, "bin")
    url = await blobs.url(job.result.key, RESULT_URL_LIFETIME, filename=f"cutout-{job.id}.{extension}")
    return ResultLink(job.result, url)


@dataclass
class GetWebhookSecret:
    """Each user has one secret that signs their callbacks; it is made on first use."""

    uow: UnitOfWorkFactory

    async def __call__(self, user: User) -> str:
        async with self.uow() as uow:
            secret = await _ensure_webhook_secret(uow, user.id)
            await uow.commit()
        return secret


@dataclass
class RotateWebhookSecret:
    """A new secret replaces the old one at once; callbacks sent from then on use the new one."""

    uow: UnitOfWorkFactory

    async def __call__(self, user: User) -> str:
        secret = new_secret()
        async with self.uow() as uow:
            await uow.users.set_webhook_secret(user.id, secret)
            await uow.commit()
        return secret
