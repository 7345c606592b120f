"""The queue's repositories on SQLite, MariaDB and the fake: claims, heartbeats, idempotency keys, listing,
retention, callbacks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from contract.test_sql_adapter import new_user

from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain import credits
from domain.credits import LedgerKind
from domain.cutouts import Channels, CutoutOptions, ImageSource, OutputFormat, Shadow
from domain.errors import IdempotencyKeyTaken
from domain.geometry import Placement, Roi
from domain.jobs import Job, JobResult, JobStatus
from domain.ports import UnitOfWorkFactory
from domain.users import User
from domain.webhooks import DeliveryStatus, WebhookDelivery, new_secret

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def queued(user: User, minutes_ago: float = 0, **fields: object) -> Job:
    created = NOW - timedelta(minutes=minutes_ago)
    return Job(
        user.id,
        JobStatus.QUEUED,
        CutoutOptions(),
        1,
        created,
        created,
        available_at=created,
        **fields,  # type: ignore[arg-type]
    )


async def store(uow_factory: UnitOfWorkFactory, *jobs: Job) -> None:
    async with uow_factory() as uow:
        for job in jobs:
            await uow.jobs.add(job)
        await uow.commit()


async def claim(uow_factory: UnitOfWorkFactory, worker: str, now: datetime = NOW) -> Job | None:
    async with uow_factory() as uow:
        job = await uow.jobs.claim_next(now)
        if job is not None:
            job.start(worker, LEASE, now)
            await uow.jobs.save(job)
            await uow.commit()
        return job


async def test_claims_the_oldest_available_job_once(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    old, new = queued(user, minutes_ago=5), queued(user, minutes_ago=1)
    later = queued(user, minutes_ago=10)
    later.available_at = NOW + timedelta(minutes=1)  # backing off after a failure
    await store(uow_factory, new, old, later)

    first = await claim(uow_factory, "w1")
    second = await claim(uow_factory, "w2")
    assert first is not None and second is not None
    assert (first.id, second.id) == (old.id, new.id)
    assert await claim(uow_factory, "w3") is None
    async with uow_factory() as uow:
        stored = await uow.jobs.get(old.id)
    assert stored is not None and stored.is_held_by("w1") and stored.attempts == 1
    assert stored.lease_expires_at == NOW + LEASE
    assert (await claim(uow_factory, "w3", NOW + timedelta(minutes=2))) is not None  # its backoff is over


async def test_concurrent_claims_never_share_a_job(sql_uow: SqlUnitOfWorkFactory) -> None:
    # SQL only: row locks (SKIP LOCKED) between transactions on concurrent connections.
    user = await new_user(sql_uow)
    jobs = [queued(user, minutes_ago=i) for i in range(12)]
    await store(sql_uow, *jobs)
    claimed = await asyncio.gather(*(claim(sql_uow, f"w{i}") for i in range(16)))
    ids = [job.id for job in claimed if job is not None]
    assert sorted(ids) == sorted(job.id for job in jobs)  # every job once, four claims found none


@pytest.mark.parametrize("uow_factory", ["mysql", "fake"], indirect=True)
async def test_a_claimed_job_is_skipped_by_other_open_transactions(uow_factory: UnitOfWorkFactory) -> None:
    # Not on SQLite: it has no row locks, each write transaction runs alone (BEGIN IMMEDIATE).
    user = await new_user(uow_factory)
    old, new = queued(user, minutes_ago=5), queued(user, minutes_ago=1)
    delivery = WebhookDelivery(old.id, user.id, "https://hooks.example/x", NOW, next_attempt_at=NOW)
    await store(uow_factory, old, new)
    async with uow_factory() as uow:
        await uow.webhooks.add(delivery)
        await uow.commit()
    async with uow_factory() as first, uow_factory() as second:
        held = await first.jobs.claim_next(NOW)
        assert held is not None and held.id == old.id
        assert [d.id for d in await first.webhooks.claim_due(NOW, 10)] == [delivery.id]
        other = await second.jobs.claim_next(NOW)
        assert other is not None and other.id == new.id
        assert await second.webhooks.claim_due(NOW, 10) == []
        await first.rollback()  # the locks go with the transaction
        assert [d.id for d in await second.webhooks.claim_due(NOW, 10)] == [delivery.id]


async def test_expired_leases_come_oldest_first(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    jobs = [queued(user) for _ in range(3)]
    for job, minutes in zip(jobs, (2, 3, 1), strict=True):
        job.start("w1", timedelta(minutes=minutes), NOW)
    await store(uow_factory, *jobs)
    async with uow_factory() as uow:
        expired = await uow.jobs.lease_expired(NOW + timedelta(hours=1), 2)
    assert [j.id for j in expired] == [jobs[2].id, jobs[0].id]


async def test_heartbeat_extends_only_a_held_lease(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    await store(uow_factory, queued(user))
    job = await claim(uow_factory, "w1")
    assert job is not None
    async with uow_factory() as uow:
        assert await uow.jobs.heartbeat(job.id, "w1", NOW + timedelta(minutes=5), 40)
        assert not await uow.jobs.heartbeat(job.id, "w2", NOW + timedelta(minutes=5), 40)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.jobs.get(job.id)
        assert stored is not None and stored.progress == 40 and stored.lease_expires_at == NOW + timedelta(minutes=5)
        stored.fail("boom", "it broke", NOW)
        await uow.jobs.save(stored)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.jobs.heartbeat(job.id, "w1", NOW + timedelta(minutes=9), 50)


async def test_an_idempotency_key_is_unique_per_user(uow_factory: UnitOfWorkFactory) -> None:
    ada, bob = await new_user(uow_factory), await new_user(uow_factory, "bob@example.com")
    first = queued(ada, idempotency_key="order-1", fingerprint="a" * 64)
    await store(uow_factory, first, queued(bob, idempotency_key="order-1"))
    with pytest.raises(IdempotencyKeyTaken) as taken:
        await store(uow_factory, queued(ada, idempotency_key="order-1"))
    assert taken.value.details == {"field": "Idempotency-Key"}
    async with uow_factory() as uow:
        found = await uow.jobs.get_by_idempotency_key(ada.id, "order-1")
        assert found is not None and found.id == first.id and found.fingerprint == "a" * 64
        assert await uow.jobs.get_by_idempotency_key(ada.id, "order-2") is None
    await store(uow_factory, queued(ada), queued(ada))  # jobs without a key never collide


async def test_lists_own_asynchronous_jobs_newest_first(uow_factory: UnitOfWorkFactory) -> None:
    ada, bob = await new_user(uow_factory), await new_user(uow_factory, "bob@example.com")
    mine = [queued(ada, minutes_ago=m) for m in (3, 1, 2)]
    sync = Job(ada.id, JobStatus.RUNNING, CutoutOptions(), 1, NOW, NOW, sync=True)
    await store(uow_factory, *mine, sync, queued(bob))
    async with uow_factory() as uow:
        page, total = await uow.jobs.list_for_user(ada.id, 2, 0)
        rest, _ = await uow.jobs.list_for_user(ada.id, 2, 2)
    assert total == 3
    assert [j.id for j in [*page, *rest]] == [mine[1].id, mine[2].id, mine[0].id]


async def test_a_finished_job_keeps_its_result_and_options(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    job = queued(user, callback_url="https://hooks.example/cutout")
    job.background_key = f"jobs/{job.id}/background"
    job.options = CutoutOptions(
        format=OutputFormat.WEBP,
        crop=True,
        roi=Roi.parse("10% 5% 90% 95%"),
        placement=Placement.parse("80%", "center"),
        channels=Channels.ALPHA,
        shadow=Shadow.parse(True, "car", 40),
    )
    await store(uow_factory, job)
    held = await claim(uow_factory, "w1")
    assert held is not None
    held.move_to(JobStatus.SUCCEEDED, NOW)
    held.result = JobResult(f"jobs/{held.id}/result", "image/webp", 640, 480)
    async with uow_factory() as uow:
        await uow.jobs.save(held)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.jobs.get(job.id)
    assert stored == held
    assert stored is not None and stored.options.format is OutputFormat.WEBP and stored.progress == 100
    assert stored.background_key == f"jobs/{job.id}/background" and stored.options.bg_image is None


async def test_a_job_stored_with_its_background_inline_still_reads(uow_factory: UnitOfWorkFactory) -> None:
    """Rows written before backgrounds moved to the blob store held the bytes in the options."""
    job = queued(await new_user(uow_factory))
    job.options = CutoutOptions(bg_image=ImageSource(data=bytes(range(256)) * 4))
    await store(uow_factory, job)
    async with uow_factory() as uow:
        stored = await uow.jobs.get(job.id)
    assert stored is not None and stored.options == job.options and stored.background_key is None


async def test_retention_finds_old_jobs_that_still_hold_something(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    waiting = queued(user, minutes_ago=120, input_key="jobs/a/input")
    young = queued(user, minutes_ago=10, input_key="jobs/b/input")
    failed = queued(user, minutes_ago=130, input_key="jobs/c/input")
    failed.fail("invalid_image", "bad", NOW)
    cleaned = queued(user, minutes_ago=120)
    cleaned.fail("invalid_image", "bad", NOW)
    running = queued(user, minutes_ago=120, input_key="jobs/d/input")
    running.start("w1", LEASE, NOW)
    await store(uow_factory, waiting, young, failed, cleaned, running)
    async with uow_factory() as uow:
        due = await uow.jobs.retention_due(NOW - timedelta(hours=1), 10)
    assert {j.id for j in due} == {waiting.id, failed.id}
    async with uow_factory() as uow:
        [oldest] = await uow.jobs.retention_due(NOW - timedelta(hours=1), 1)
    assert oldest.id == failed.id  # oldest first, whatever the order of insertion


async def test_ended_sync_jobs_past_the_cut_off_are_deleted_oldest_first(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory, balance=5)

    def sync_job(minutes_ago: float, status: JobStatus) -> Job:
        created = NOW - timedelta(minutes=minutes_ago)
        return Job(user.id, status, CutoutOptions(), 1, created, created, sync=True)

    ended = [sync_job(90, JobStatus.SUCCEEDED), sync_job(80, JobStatus.FAILED), sync_job(70, JobStatus.SUCCEEDED)]
    running, young = sync_job(75, JobStatus.RUNNING), sync_job(10, JobStatus.SUCCEEDED)
    old_queued = queued(user, minutes_ago=90)
    old_queued.status = JobStatus.SUCCEEDED
    await store(uow_factory, *ended, running, young, old_queued)
    async with uow_factory() as uow:
        await uow.ledger.post(credits.job_charge(user.id, ended[0].id, 1, NOW))
        await uow.commit()
    cutoff = NOW - timedelta(minutes=60)
    for expected in (2, 1, 0):
        async with uow_factory() as uow:
            assert await uow.jobs.delete_finished_sync(cutoff, 2) == expected
            await uow.commit()
    async with uow_factory() as uow:
        left = {job.id for job in [running, young, old_queued, *ended] if await uow.jobs.get(job.id)}
        entries, _ = await uow.ledger.entries(user.id, 10, 0)
        balance = await uow.ledger.balance(user.id)
    assert left == {running.id, young.id, old_queued.id}
    assert [e.job_id for e in entries if e.kind is LedgerKind.CHARGE] == [ended[0].id]  # the ledger keeps its entry
    assert balance == 4 == sum(e.delta for e in entries)


async def test_one_callback_per_job_claimed_when_due(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    job = queued(user)
    await store(uow_factory, job)
    delivery = WebhookDelivery(job.id, user.id, "https://hooks.example/x", NOW, next_attempt_at=NOW)
    async with uow_factory() as uow:
        await uow.webhooks.add(delivery)
        await uow.webhooks.add(WebhookDelivery(job.id, user.id, "https://hooks.example/y", NOW, NOW))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.claim_due(NOW - timedelta(seconds=1), 10) == []
        [due] = await uow.webhooks.claim_due(NOW, 10)
        assert due == delivery
        due.attempts, due.status, due.delivered_at = 1, DeliveryStatus.DELIVERED, NOW
        await uow.webhooks.save(due)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.claim_due(NOW + timedelta(hours=1), 10) == []
        assert await uow.webhooks.get(delivery.id) == due


async def test_a_user_keeps_a_webhook_secret(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    secret = new_secret()
    async with uow_factory() as uow:
        await uow.users.set_webhook_secret(user.id, secret)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.users.get(user.id)
    assert stored is not None and stored.webhook_secret == secret and secret.startswith("whsec_")
    assert uuid.UUID(str(user.id)) == stored.id
