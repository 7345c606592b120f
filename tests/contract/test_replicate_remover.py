"""The Replicate remover through the real ``replicate`` client, against our fake Replicate on loopback."""

from __future__ import annotations

import asyncio
import base64
from io import BytesIO
from typing import Any

import numpy as np
import pytest
from fake_replicate import TOKEN, FakeReplicate, ServedBlobStore, centre_ellipse
from images import person_scene
from PIL import Image

from adapters.cpu import CpuPool
from adapters.replicate_models import MODELS, resolve
from adapters.replicate_remover import DATA_URI_MAX_BYTES, ReplicateRemover, Timing, replicate_client
from adapters.sql.prediction_inbox import SqlPredictionInbox
from domain.errors import InferenceFailed

FAST = Timing(deadline=5, prefer_wait=1, poll=0.05, webhook_poll=0.3, inbox_poll=0.05, cancel=2, readiness_ttl=30)
PICTURE = person_scene(320, 240)[0]


def remover(fake: FakeReplicate, model: str = "bria/remove-background", **options: Any) -> ReplicateRemover:
    client = replicate_client(options.pop("token", TOKEN), options.pop("base_url", fake.url))
    return ReplicateRemover(client, resolve(model), CpuPool(), timing=options.pop("timing", FAST), **options)


async def run(remover: ReplicateRemover, picture: Image.Image = PICTURE) -> Image.Image:
    try:
        return await remover.mask(picture)
    finally:
        await remover.aclose()


def assert_ellipse(mask: Image.Image, size: tuple[int, int] = PICTURE.size) -> None:
    assert mask.mode == "L" and mask.size == size
    assert np.array_equal(np.asarray(mask), np.asarray(centre_ellipse(size)))


@pytest.mark.parametrize("model", sorted(MODELS))
async def test_each_model_answers_in_one_wait_and_becomes_our_mask(fake: FakeReplicate, model: str) -> None:
    assert_ellipse(await run(remover(fake, model)))
    (create,) = fake.calls("POST", "/v1/")
    row = MODELS[model]
    if row.version:
        assert create.path == "/v1/predictions" and create.body["version"] == row.version
    else:
        assert create.path == f"/v1/models/{model}/predictions" and "version" not in create.body
    assert create.headers["prefer"] == "wait=1"
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    image = create.body["input"].pop(row.input_name)
    assert create.body["input"] == dict(row.extra_input)
    assert image.startswith("data:image/jpeg;base64,")
    sent = Image.open(BytesIO(base64.b64decode(image.partition(",")[2])))
    assert sent.format == "JPEG" and sent.size == PICTURE.size
    assert fake.calls("GET", "/v1/predictions") == [] and "webhook" not in create.body


async def test_a_slow_prediction_is_polled_until_it_finishes(fake: FakeReplicate) -> None:
    fake.behaviour.seconds, fake.behaviour.honour_wait = 0.4, False
    assert_ellipse(await run(remover(fake)))
    polls = fake.calls("GET", "/v1/predictions/")
    assert len(polls) >= 2  # "starting", "processing"..., then "succeeded"
    assert fake.calls("POST", "/v1/predictions/") == []  # nothing cancelled


async def test_a_failed_prediction_is_inference_failed_with_its_error(fake: FakeReplicate) -> None:
    fake.behaviour.outcome = "failed"
    with pytest.raises(InferenceFailed) as failure:
        await run(remover(fake))
    (prediction,) = fake.predictions
    assert failure.value.details == {"prediction_id": prediction, "replicate_error": "CUDA out of memory"}
    assert "CUDA out of memory" in failure.value.message


async def test_a_prediction_canceled_on_replicate_is_inference_failed(fake: FakeReplicate) -> None:
    fake.behaviour.outcome = "canceled"
    with pytest.raises(InferenceFailed, match="canceled"):
        await run(remover(fake))


async def test_throttling_and_server_errors_are_retried_with_backoff(fake: FakeReplicate) -> None:
    fake.fail_next = [429, 503, 500]
    assert_ellipse(await run(remover(fake)))
    assert len(fake.calls("POST", "/v1/models/")) == 4


async def test_retries_give_up_as_inference_failed(fake: FakeReplicate) -> None:
    fake.fail_next = [429] * 10
    with pytest.raises(InferenceFailed, match="429"):
        await run(remover(fake))
    assert len(fake.calls("POST", "/v1/models/")) == 4
    assert fake.predictions == {}


async def test_a_large_input_goes_up_as_a_blob_store_url_and_is_deleted_after(fake: FakeReplicate) -> None:
    noise = Image.fromarray(np.random.default_rng(7).integers(0, 256, (600, 600, 3), dtype=np.uint8), "RGB")
    store = ServedBlobStore(fake)
    assert_ellipse(await run(remover(fake, blobs=store), noise), noise.size)
    (url,) = store.issued
    (create,) = fake.calls("POST", "/v1/")
    assert create.body["input"]["image"] == url
    assert fake.fetched == [url]
    assert len(fake.calls("GET", "/blobs/")) == 1
    assert fake.blobs == {}  # deleted once the prediction finished


async def test_a_small_input_stays_a_data_uri_even_with_a_blob_store(fake: FakeReplicate) -> None:
    store = ServedBlobStore(fake)
    assert_ellipse(await run(remover(fake, blobs=store)))
    assert store.issued == [] and fake.fetched == []
    (create,) = fake.calls("POST", "/v1/")
    assert len(base64.b64decode(create.body["input"]["image"].partition(",")[2])) <= DATA_URI_MAX_BYTES


@pytest.mark.parametrize("held", [False, True], ids=["while-polling", "while-replicate-holds-the-create"])
async def test_our_deadline_cancels_the_prediction(fake: FakeReplicate, held: bool) -> None:
    fake.behaviour.seconds, fake.behaviour.honour_wait = 30, held
    short = Timing(deadline=0.6, prefer_wait=1, poll=0.05, cancel=2)
    with pytest.raises(InferenceFailed, match="did not finish within 0.6 s"):
        await run(remover(fake, timing=short))  # closing the remover waits for a late cancellation
    (pid,) = fake.predictions
    assert [c.path for c in fake.calls("POST", "/v1/predictions/")] == [f"/v1/predictions/{pid}/cancel"]
    assert fake.predictions[pid].data["status"] == "canceled"


async def test_cancelling_the_waiting_task_cancels_the_prediction(fake: FakeReplicate) -> None:
    fake.behaviour.seconds, fake.behaviour.honour_wait = 30, False
    task = asyncio.create_task(run(remover(fake)))
    while not fake.calls("GET", "/v1/predictions/"):  # it is waiting
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (pid,) = fake.predictions
    assert fake.predictions[pid].data["status"] == "canceled"
    assert len(fake.calls("POST", f"/v1/predictions/{pid}/cancel")) == 1


async def test_with_a_webhook_expected_and_none_arriving_polling_still_finishes(
    fake: FakeReplicate, inbox: SqlPredictionInbox
) -> None:
    fake.behaviour.seconds, fake.behaviour.honour_wait = 0.2, False
    hook = "http://127.0.0.1:9/api/v1/webhooks/replicate"  # nobody listens there
    assert_ellipse(await run(remover(fake, inbox=inbox, webhook_url=hook)))
    (create,) = fake.calls("POST", "/v1/")
    assert create.body["webhook"] == hook and create.body["webhook_events_filter"] == ["completed"]
    assert fake.deliveries == [(hook, 0)]
    assert 1 <= len(fake.calls("GET", "/v1/predictions/")) <= 3  # at the slower fallback pace


async def test_a_delivery_in_the_inbox_ends_the_wait_without_polling(
    fake: FakeReplicate, inbox: SqlPredictionInbox
) -> None:
    fake.behaviour.seconds, fake.behaviour.honour_wait, fake.behaviour.deliver_webhooks = 0.2, False, False
    slow_fallback = Timing(deadline=5, prefer_wait=1, webhook_poll=30, inbox_poll=0.05)
    replicate = remover(fake, inbox=inbox, webhook_url="http://127.0.0.1:9/hook", timing=slow_fallback)
    task = asyncio.create_task(run(replicate))
    while not fake.predictions or fake.predictions[next(iter(fake.predictions))].data["status"] != "succeeded":
        await asyncio.sleep(0.02)
    (pid,) = fake.predictions
    finished = fake.predictions[pid].data
    await inbox.put(pid, {key: finished[key] for key in ("id", "status", "output", "error")})
    assert_ellipse(await asyncio.wait_for(task, 5))
    assert fake.calls("GET", "/v1/predictions/") == []
    assert await inbox.get(pid) is None  # read and cleared


async def test_an_output_that_is_not_an_image_is_inference_failed(fake: FakeReplicate) -> None:
    fake.behaviour.output = b"<html>gone</html>"
    with pytest.raises(InferenceFailed, match="not a usable image"):
        await run(remover(fake, "lucataco/remove-bg"))


async def test_a_rejected_token_fails_the_cut_out_and_readiness(fake: FakeReplicate) -> None:
    replicate = remover(fake, token="r8_wrong")
    try:
        with pytest.raises(InferenceFailed, match="401"):
            await replicate.mask(PICTURE)
        for _ in range(3):
            with pytest.raises(RuntimeError, match="rejected REPLICATE_API_TOKEN"):
                await replicate.check()
    finally:
        await replicate.aclose()
    assert len(fake.calls("GET", "/v1/account")) == 1  # the answer is cached


async def test_readiness_passes_with_a_good_token_and_fails_when_unreachable(fake: FakeReplicate) -> None:
    good, gone = remover(fake), remover(fake, base_url="http://127.0.0.1:9")
    try:
        await good.check()
        await good.check()
        assert len(fake.calls("GET", "/v1/account")) == 1
        with pytest.raises(RuntimeError, match="unreachable"):
            await gone.check()
    finally:
        await good.aclose()
        await gone.aclose()
