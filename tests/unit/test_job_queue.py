"""The job use cases over fakes: submit, run, retry, fail, cancel, reclaim, expire, call back."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from dataclasses import replace
from datetime import timedelta

import pytest
from fakes import (
    FakeBlobStore,
    FakeClock,
    FakeFetcher,
    FakeHasher,
    FakeImaging,
    FakeRemover,
    FakeUnitOfWorkFactory,
    FakeWebhookSender,
    fake_image,
)

from domain import jobs
from domain.credits import LedgerKind
from domain.cutouts import CutoutOptions, ImageSource
from domain.errors import (
    IdempotencyKeyReused,
    IllegalTransition,
    InsufficientCredits,
    InvalidImage,
    InvalidOption,
    NotFound,
    ResultExpired,
    ServiceUnavailable,
    UrlFetchFailed,
    UrlNotAllowed,
)
from domain.jobs import Job, JobStatus, RetryPolicy
from domain.pipeline import CutoutPipeline
from domain.ports import Mask, Picture
from domain.pricing import SizeChoice
from domain.use_cases import jobs as job_use_cases
from domain.use_cases.accounts import SignUp
from domain.use_cases.callbacks import DeliverCallbacks
from domain.use_cases.jobs import CancelJob, GetJob, GetJobResult, SubmitJob
from domain.use_cases.queue import ExpireOldJobs, Lease, PurgeSyncJobRecords, ReclaimExpiredLeases, RunJobs
from domain.use_cases.remove_background import RemoveBackground
from domain.users import User
from domain.webhooks import DeliveryPolicy, DeliveryStatus

BIG = ImageSource(data=fake_image(4000, 3000))
FULL = CutoutOptions(size=SizeChoice.FULL)


@pytest.fixture
def blobs(clock: FakeClock) -> FakeBlobStore:
    return FakeBlobStore(clock)


@pytest.fixture
def pipeline(imaging: FakeImaging, remover: FakeRemover, fetcher: FakeFetcher) -> CutoutPipeline:
    return CutoutPipeline(imaging, remover, fetcher)


@pytest.fixture
def submit(uow: FakeUnitOfWorkFactory, pipeline: CutoutPipeline, blobs: FakeBlobStore, clock: FakeClock) -> SubmitJob:
    return SubmitJob(uow, pipeline, blobs, clock)


@pytest.fixture
def runner(uow: FakeUnitOfWorkFactory, pipeline: CutoutPipeline, blobs: FakeBlobStore, clock: FakeClock) -> RunJobs:
    return RunJobs(uow, pipeline, blobs, clock, Lease(timedelta(seconds=30)), RetryPolicy(max_attempts=3))


@pytest.fixture
async def user(uow: FakeUnitOfWorkFactory, hasher: FakeHasher, clock: FakeClock) -> User:
    return await SignUp(uow, hasher, clock, signup_credits=3)("ada@example.com", "correct horse")


def balance(uow: FakeUnitOfWorkFactory, user: User) -> int:
    assert uow.db.balances[user.id] == sum(e.delta for e in uow.db.ledger if e.user_id == user.id)
    return uow.db.balances[user.id]


def stored(uow: FakeUnitOfWorkFactory, job: Job) -> Job:
    return uow.db.jobs[job.id]


async def run_next(runner: RunJobs, worker: str = "w1") -> Job:
    job = await runner.claim(worker)
    assert job is not None
    await runner.run(job, worker)
    return job


async def test_submit_reserves_the_credit_and_stores_the_input(
    submit: SubmitJob, user: User, uow: FakeUnitOfWorkFactory, blobs: FakeBlobStore
) -> None:
    submission = await submit(user, BIG, FULL)
    job = submission.job
    assert submission.created and job.status is JobStatus.QUEUED and job.credits_reserved == 1
    assert balance(uow, user) == 2
    assert blobs.blobs[f"jobs/{job.id}/input"][0] == BIG.data


async def test_submit_refuses_before_storing_anything(
    submit: SubmitJob, user: User, uow: FakeUnitOfWorkFactory, blobs: FakeBlobStore
) -> None:
    with pytest.raises(InvalidImage):
        await submit(user, ImageSource(data=b"text"), FULL)
    with pytest.raises(InvalidOption):
        await submit(user, BIG, FULL, callback_url="ftp://hooks.example/x")
    for _ in range(3):
        await submit(user, BIG, FULL)
    with pytest.raises(InsufficientCredits):
        await submit(user, BIG, FULL)
    assert balance(uow, user) == 0 and len(uow.db.jobs) == 3 and len(blobs.blobs) == 3


async def test_the_same_idempotency_key_and_request_is_one_job_charged_once(
    submit: SubmitJob, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    first = await submit(user, BIG, FULL, idempotency_key="order-7")
    again = await submit(user, BIG, FULL, idempotency_key="order-7")
    assert again.job.id == first.job.id and not again.created
    assert balance(uow, user) == 2 and len(uow.db.jobs) == 1
    with pytest.raises(IdempotencyKeyReused):
        await submit(user, BIG, CutoutOptions(size=SizeChoice.PREVIEW), idempotency_key="order-7")
    concurrent = await asyncio.gather(*(submit(user, BIG, FULL, idempotency_key="order-8") for _ in range(5)))
    assert len({s.job.id for s in concurrent}) == 1 and balance(uow, user) == 1


async def test_the_fingerprint_is_taken_only_for_an_idempotency_key(
    submit: SubmitJob, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[CutoutOptions] = []

    def spy(source: ImageSource, options: CutoutOptions, callback_url: str | None) -> str:
        taken.append(options)
        return jobs.fingerprint(source, options, callback_url)

    monkeypatch.setattr(job_use_cases, "fingerprint", spy)
    backdrop = CutoutOptions(size=SizeChoice.FULL, bg_image=ImageSource(data=fake_image(800, 600)))
    await submit(user, BIG, backdrop)
    assert taken == []
    await submit(user, BIG, backdrop, idempotency_key="order-9")
    assert taken == [backdrop]


def test_a_fingerprint_hashes_a_background_without_copying_it() -> None:
    background = ImageSource(data=bytes(20_000_000))
    options = CutoutOptions(bg_image=background)
    tracemalloc.start()
    try:
        first = jobs.fingerprint(BIG, options, "https://hooks.example/x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the background is 20 MB; its repr alone was 80
    assert first == jobs.fingerprint(
        BIG, CutoutOptions(bg_image=ImageSource(data=bytes(20_000_000))), "https://hooks.example/x"
    )
    assert first != jobs.fingerprint(
        BIG, CutoutOptions(bg_image=ImageSource(data=b"\1" * 20_000_000)), "https://hooks.example/x"
    )
    assert first != jobs.fingerprint(BIG, options, None)
    assert first != jobs.fingerprint(BIG, replace(options, crop=True), "https://hooks.example/x")


async def test_a_worker_runs_a_job_to_success(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, blobs: FakeBlobStore
) -> None:
    job = (await submit(user, BIG, FULL, callback_url="https://hooks.example/cutout")).job
    await run_next(runner)
    done = stored(uow, job)
    assert done.status is JobStatus.SUCCEEDED and done.progress == 100 and done.attempts == 1
    assert done.result is not None and (done.result.width, done.result.height) == (4000, 3000)
    assert blobs.blobs[done.result.key][0] == b"cutout:4000x3000:mask"
    assert balance(uow, user) == 2  # the reserved credit stays charged
    [delivery] = uow.db.webhooks.values()
    assert delivery.job_id == job.id and delivery.status is DeliveryStatus.PENDING
    secret = uow.db.users[user.id].webhook_secret
    assert secret is not None and secret.startswith("whsec_")


async def test_a_transient_failure_is_retried_with_backoff_then_succeeds(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, remover: FakeRemover, clock: FakeClock
) -> None:
    job = (await submit(user, BIG, FULL)).job
    remover.error = ServiceUnavailable()
    await run_next(runner)
    waiting = stored(uow, job)
    assert waiting.status is JobStatus.QUEUED and waiting.attempts == 1 and waiting.error_code == "service_unavailable"
    assert waiting.available_at is not None
    assert timedelta(seconds=1) <= waiting.available_at - clock.now() <= timedelta(seconds=2)
    assert await runner.claim("w1") is None  # still backing off
    remover.error = None
    clock.advance(seconds=2)
    await run_next(runner)
    assert stored(uow, job).status is JobStatus.SUCCEEDED and stored(uow, job).attempts == 2
    assert balance(uow, user) == 2


async def test_transient_failures_end_in_a_refund_after_the_last_attempt(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, remover: FakeRemover, clock: FakeClock
) -> None:
    job = (await submit(user, BIG, FULL)).job
    remover.error = RuntimeError("the model crashed")
    delays = []
    for _ in range(3):
        await run_next(runner)
        if available_at := stored(uow, job).available_at:
            delays.append(available_at - clock.now())
        clock.advance(minutes=10)
    failed = stored(uow, job)
    assert failed.status is JobStatus.FAILED and failed.attempts == 3 and failed.error_code == "inference_failed"
    assert delays[1] > timedelta(seconds=2)  # the second wait is longer than the first could be
    assert balance(uow, user) == 3
    assert [e.kind for e in uow.db.ledger][-2:] == [LedgerKind.CHARGE, LedgerKind.REFUND]


async def test_a_permanent_failure_fails_at_once_with_its_code_and_a_refund(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, remover: FakeRemover
) -> None:
    job = (await submit(user, BIG, FULL)).job
    remover.error = InvalidImage("no subject found")
    await run_next(runner)
    failed = stored(uow, job)
    assert failed.status is JobStatus.FAILED and failed.attempts == 1
    assert (failed.error_code, failed.error_message) == ("invalid_image", "no subject found")
    assert balance(uow, user) == 3


async def test_auto_is_settled_at_submit_and_rendered_at_the_size_paid_for(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, hasher: FakeHasher, clock: FakeClock
) -> None:
    broke = await SignUp(uow, hasher, clock, signup_credits=0)("bob@example.com", "correct horse")
    free = (await submit(broke, BIG, CutoutOptions(size=SizeChoice.AUTO))).job
    paid = (await submit(user, BIG, CutoutOptions(size=SizeChoice.AUTO))).job
    assert (free.options.size, free.credits_reserved) == (SizeChoice.PREVIEW, 0)
    assert (paid.options.size, paid.credits_reserved) == (SizeChoice.FULL, 1)
    await run_next(runner)
    await run_next(runner)
    free_result, paid_result = stored(uow, free).result, stored(uow, paid).result
    assert free_result is not None and free_result.width * free_result.height <= 250_000
    assert paid_result is not None and (paid_result.width, paid_result.height) == (4000, 3000)
    assert balance(uow, broke) == 0 and balance(uow, user) == 2


async def test_a_job_that_would_cost_other_than_reserved_fails_unrun_and_refunded(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, remover: FakeRemover
) -> None:
    job = (await submit(user, BIG, FULL)).job
    stored(uow, job).options = CutoutOptions(size=SizeChoice.PREVIEW)  # priced 0 now, 1 reserved
    await run_next(runner)
    failed = stored(uow, job)
    assert failed.status is JobStatus.FAILED and failed.error_code == "price_changed"
    assert remover.calls == 0 and balance(uow, user) == 3


async def test_a_job_stored_with_auto_before_it_was_settled_renders_what_was_reserved(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    paid, free = (
        (await submit(user, BIG, FULL)).job,
        (await submit(user, BIG, CutoutOptions(size=SizeChoice.PREVIEW))).job,
    )
    for job in (paid, free):
        stored(uow, job).options = CutoutOptions(size=SizeChoice.AUTO)
    await run_next(runner)
    await run_next(runner)
    paid_result, free_result = stored(uow, paid).result, stored(uow, free).result
    assert paid_result is not None and free_result is not None
    assert paid_result.width == 4000
    assert free_result.width * free_result.height <= 250_000
    assert balance(uow, user) == 2


async def test_a_background_waits_beside_the_input_and_goes_with_it(
    submit: SubmitJob,
    runner: RunJobs,
    user: User,
    uow: FakeUnitOfWorkFactory,
    blobs: FakeBlobStore,
    imaging: FakeImaging,
    clock: FakeClock,
) -> None:
    backdrop = CutoutOptions(size=SizeChoice.FULL, bg_image=ImageSource(data=fake_image(800, 600)))
    job = (await submit(user, BIG, backdrop)).job
    assert job.options.bg_image is None and job.background_key == f"jobs/{job.id}/background"
    assert blobs.blobs[job.background_key][0] == fake_image(800, 600)
    await run_next(runner)
    assert imaging.rendered[-1][1].bg_image == ImageSource(data=fake_image(800, 600))
    for _ in range(2):
        await submit(user, BIG, FULL)
    with pytest.raises(InsufficientCredits):
        await submit(user, BIG, backdrop)
    assert sum(key.endswith("/background") for key in blobs.blobs) == 1  # the refused one's is deleted
    clock.advance(hours=25)
    await ExpireOldJobs(uow, blobs, clock, retention=timedelta(hours=24))()
    assert blobs.blobs == {} and stored(uow, job).background_key is None


async def test_a_worker_that_lost_its_job_books_nothing(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, blobs: FakeBlobStore, clock: FakeClock
) -> None:
    job = (await submit(user, BIG, FULL)).job
    claimed = await runner.claim("w1")
    assert claimed is not None
    clock.advance(minutes=5)
    assert await ReclaimExpiredLeases(uow, clock)() == 1  # w1 stalled; the job went back to the queue
    await runner.run(claimed, "w1")  # w1 wakes up and finishes
    assert stored(uow, job).status is JobStatus.QUEUED and stored(uow, job).error_code == "interrupted"
    assert not [key for key in blobs.blobs if key.endswith("/result")]
    clock.advance(minutes=5)
    await run_next(runner, "w2")
    assert stored(uow, job).status is JobStatus.SUCCEEDED and balance(uow, user) == 2


async def test_the_heartbeat_stops_a_job_taken_away(
    uow: FakeUnitOfWorkFactory,
    pipeline: CutoutPipeline,
    blobs: FakeBlobStore,
    clock: FakeClock,
    user: User,
    remover: FakeRemover,
    submit: SubmitJob,
) -> None:
    class Slow(FakeRemover):
        async def mask(self, picture: Picture) -> Mask:
            await asyncio.sleep(5)
            return await super().mask(picture)

    pipeline.remover = Slow()
    runner = RunJobs(uow, pipeline, blobs, clock, Lease(timedelta(seconds=0.15)))
    job = (await submit(user, BIG, FULL)).job
    claimed = await runner.claim("w1")
    assert claimed is not None
    running = asyncio.create_task(runner.run(claimed, "w1"))
    await asyncio.sleep(0.02)
    async with uow() as tx:  # an operator, or a reaper, takes the job back
        taken = await tx.jobs.lock(job.id)
        assert taken is not None
        taken.fail("interrupted", "taken", clock.now())
        await tx.jobs.save(taken)
        await tx.commit()
    await asyncio.wait_for(running, 1)  # abandoned within a heartbeat, not after the 5 s mask
    assert stored(uow, job).status is JobStatus.FAILED


async def test_a_stopping_worker_releases_its_job_without_counting_the_run(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    job = (await submit(user, BIG, FULL)).job
    claimed = await runner.claim("w1")
    assert claimed is not None
    await runner.release(claimed, "w1")
    released = stored(uow, job)
    assert released.status is JobStatus.QUEUED and released.attempts == 0 and released.worker_id is None
    assert await runner.claim("w2") is not None


async def test_cancel_refunds_a_queued_job_only(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, clock: FakeClock, hasher: FakeHasher
) -> None:
    cancel = CancelJob(uow, clock)
    queued, running = (await submit(user, BIG, FULL)).job, (await submit(user, BIG, FULL)).job
    await runner.claim("w1")  # takes the older one
    assert stored(uow, queued).status is JobStatus.RUNNING
    with pytest.raises(IllegalTransition):
        await cancel(user, queued.id)
    bob = await SignUp(uow, hasher, clock, signup_credits=3)("bob@example.com", "correct horse")
    with pytest.raises(NotFound):
        await cancel(bob, running.id)
    canceled = await cancel(user, running.id)
    assert canceled.status is JobStatus.CANCELED and balance(uow, user) == 2
    with pytest.raises(IllegalTransition):
        await cancel(user, running.id)  # a second cancel refunds nothing
    assert balance(uow, user) == 2
    with pytest.raises(NotFound):
        await GetJob(uow)(bob, queued.id)


async def test_reclaim_retries_then_fails_with_a_refund(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    job = (await submit(user, BIG, FULL)).job
    reclaim = ReclaimExpiredLeases(uow, clock, RetryPolicy(max_attempts=2))
    for expected in (JobStatus.QUEUED, JobStatus.FAILED):
        clock.advance(minutes=10)
        assert await runner.claim("dies") is not None
        clock.advance(minutes=1)
        assert await reclaim() == 1
        assert stored(uow, job).status is expected
    assert stored(uow, job).error_code == "interrupted" and balance(uow, user) == 3


async def test_expiry_deletes_images_and_refunds_only_unrun_jobs(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, blobs: FakeBlobStore, clock: FakeClock
) -> None:
    expire = ExpireOldJobs(uow, blobs, clock, retention=timedelta(hours=24))
    done = (await submit(user, BIG, FULL)).job
    await run_next(runner)
    never_run = (await submit(user, BIG, FULL)).job
    clock.advance(hours=23)
    young = (await submit(user, BIG, FULL)).job
    assert await expire() == 0 and balance(uow, user) == 0
    clock.advance(hours=2)
    assert await expire() == 2
    assert stored(uow, done).status is JobStatus.EXPIRED and stored(uow, done).result is None
    assert stored(uow, never_run).status is JobStatus.EXPIRED
    assert stored(uow, young).status is JobStatus.QUEUED
    assert set(blobs.blobs) == {f"jobs/{young.id}/input"}
    assert balance(uow, user) == 1  # never_run refunded; done stays paid
    with pytest.raises(ResultExpired):
        await GetJobResult(GetJob(uow), blobs)(user, done.id)


async def test_ended_sync_job_records_are_purged_after_the_window_in_bounded_batches(
    submit: SubmitJob, user: User, uow: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    remove = RemoveBackground(uow, CutoutPipeline(FakeImaging(), FakeRemover(), FakeFetcher()), clock)
    for _ in range(3):
        await remove(user, BIG, FULL)
    queued = (await submit(user, BIG, CutoutOptions(size=SizeChoice.PREVIEW))).job
    purge = PurgeSyncJobRecords(uow, clock, retention=timedelta(hours=24), batch=1, batches=2)
    clock.advance(hours=23)
    assert await purge() == 0
    clock.advance(hours=2)
    assert await purge() == 2 and await purge() == 1 and await purge() == 0
    assert list(uow.db.jobs) == [queued.id]
    assert [e.kind for e in uow.db.ledger].count(LedgerKind.CHARGE) == 3 and balance(uow, user) == 0


async def test_callbacks_are_signed_retried_and_given_up(
    submit: SubmitJob, runner: RunJobs, user: User, uow: FakeUnitOfWorkFactory, blobs: FakeBlobStore, clock: FakeClock
) -> None:
    sender = FakeWebhookSender()
    deliver = DeliverCallbacks(uow, sender, blobs, clock, DeliveryPolicy(max_attempts=3))
    job = (await submit(user, BIG, FULL, callback_url="https://hooks.example/a")).job
    await run_next(runner)
    sender.failures = [UrlFetchFailed("The callback answered 500.")]
    assert await deliver() == 1
    [delivery] = uow.db.webhooks.values()
    assert delivery.status is DeliveryStatus.PENDING and delivery.attempts == 1
    assert await deliver() == 0  # waiting out its backoff
    clock.advance(seconds=5)
    assert await deliver() == 1
    [(url, secret, message_id, payload)] = sender.sent
    body = json.loads(payload)
    assert url == "https://hooks.example/a" and message_id == str(delivery.id)
    assert secret == uow.db.users[user.id].webhook_secret
    assert body["type"] == "job.succeeded" and body["data"]["id"] == str(job.id)
    assert body["data"]["result"]["url"].startswith(f"memory://jobs/{job.id}/result")
    assert uow.db.webhooks[delivery.id].status is DeliveryStatus.DELIVERED

    private = (await submit(user, BIG, FULL, callback_url="http://10.0.0.8/hook")).job
    await CancelJob(uow, clock)(user, private.id)
    sender.failures = [UrlNotAllowed()]
    await deliver()
    failed = next(d for d in uow.db.webhooks.values() if d.job_id == private.id)
    assert failed.status is DeliveryStatus.FAILED and failed.attempts == 1  # never retried
