"""Async jobs on Replicate: the queue's use cases (submit, claim, run) with the adapters
``build_adapters`` wires for ``CUTOUT_INFERENCE=replicate`` (SQLite, the disk blob store, the real
imaging and the real ``replicate`` client) against our fake Replicate on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from fake_replicate import TOKEN, FakeReplicate, centre_ellipse
from images import encode, person_scene
from PIL import Image

from adapters.sql.migrate import upgrade
from domain.cutouts import CutoutOptions, ImageSource
from domain.jobs import JobStatus, RetryPolicy
from domain.pipeline import CutoutPipeline
from domain.pricing import SizeChoice
from domain.use_cases.accounts import SignUp
from domain.use_cases.jobs import SubmitJob
from domain.use_cases.queue import RunJobs
from domain.users import User
from entrypoints.bootstrap import Adapters, build_adapters
from entrypoints.settings import Settings

PHOTO = encode(person_scene(640, 480)[0], quality=90)


@pytest.fixture
async def adapters(tmp_path: Path, fake: FakeReplicate) -> AsyncIterator[Adapters]:
    env = {"CUTOUT_DATA_DIR": str(tmp_path), "CUTOUT_SECRET_KEY": "s", "CUTOUT_INFERENCE": "replicate"}
    adapters = build_adapters(Settings.from_env({**env, "REPLICATE_API_TOKEN": TOKEN, "REPLICATE_BASE_URL": fake.url}))
    await upgrade(adapters.uow.engine)  # type: ignore[attr-defined]
    yield adapters
    await adapters.aclose()


async def submitted(adapters: Adapters) -> tuple[User, RunJobs]:
    pipeline = CutoutPipeline(adapters.imaging, adapters.remover, adapters.fetcher)
    user = await SignUp(adapters.uow, adapters.hasher, adapters.clock, 3)("ada@example.com", "a long password")
    submit = SubmitJob(adapters.uow, pipeline, adapters.blob_store, adapters.clock)
    await submit(user, ImageSource(data=PHOTO), CutoutOptions(size=SizeChoice.FULL))
    return user, RunJobs(adapters.uow, pipeline, adapters.blob_store, adapters.clock, retry=RetryPolicy(1))


async def balance(adapters: Adapters, user: User) -> int:
    async with adapters.uow() as uow:
        return await uow.ledger.balance(user.id)


async def test_a_queued_job_runs_on_replicate_and_stores_our_composition(
    adapters: Adapters, fake: FakeReplicate
) -> None:
    user, worker = await submitted(adapters)
    job = await worker.claim("worker-1")
    assert job is not None
    await worker.run(job, "worker-1")
    async with adapters.uow() as uow:
        done = await uow.jobs.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.result is not None
    result = Image.open(BytesIO(await adapters.blob_store.get(done.result.key)))
    assert result.size == (640, 480) and result.mode == "RGBA"
    assert np.array_equal(np.asarray(result.getchannel("A")), np.asarray(centre_ellipse((640, 480))))
    assert len(fake.predictions) == 1 and await balance(adapters, user) == 2


async def test_a_failed_prediction_fails_the_job_and_refunds_it(adapters: Adapters, fake: FakeReplicate) -> None:
    fake.behaviour.outcome = "failed"
    user, worker = await submitted(adapters)
    job = await worker.claim("worker-1")
    assert job is not None
    await worker.run(job, "worker-1")
    async with adapters.uow() as uow:
        failed = await uow.jobs.get(job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.error_code == "inference_failed" and "CUDA out of memory" in (failed.error_message or "")
    assert await balance(adapters, user) == 3


async def test_a_worker_that_stops_cancels_the_prediction(adapters: Adapters, fake: FakeReplicate) -> None:
    fake.behaviour.seconds, fake.behaviour.honour_wait = 30, False
    _, worker = await submitted(adapters)
    job = await worker.claim("worker-1")
    assert job is not None
    running = asyncio.create_task(worker.run(job, "worker-1"))
    while not fake.calls("GET", "/v1/predictions/"):
        await asyncio.sleep(0.02)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await worker.release(job, "worker-1")
    (pid,) = fake.predictions
    assert fake.predictions[pid].data["status"] == "canceled"
    async with adapters.uow() as uow:
        assert (await uow.jobs.get(job.id)).status is JobStatus.QUEUED  # type: ignore[union-attr]
