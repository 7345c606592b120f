"""The webhook receiver: the secret read from our fake Replicate through the real client, deliveries
signed the way Replicate signs them, recorded in the SQL inbox (SQLite)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fake_replicate import TOKEN, FakeReplicate

from adapters.replicate_remover import replicate_client
from adapters.replicate_webhooks import ReplicateWebhookReceiver
from adapters.sql.prediction_inbox import SqlPredictionInbox
from domain.errors import InvalidRequest, InvalidSignature, ServiceUnavailable

PREDICTION: dict[str, Any] = {
    "id": "ufawqhfynnddngldkgtslldrkq",
    "model": "bria/remove-background",
    "version": "hidden",
    "status": "succeeded",
    "input": {"image": "data:image/jpeg;base64,..."},
    "output": "https://replicate.delivery/xezq/out.png",
    "error": None,
    "logs": "a great deal of log text",
    "metrics": {"predict_time": 0.8},
    "urls": {"get": "https://api.replicate.com/v1/predictions/ufawqhfynnddngldkgtslldrkq"},
}
BODY = json.dumps(PREDICTION).encode()


@pytest.fixture
async def receiver(fake: FakeReplicate, inbox: SqlPredictionInbox) -> AsyncIterator[ReplicateWebhookReceiver]:
    client = replicate_client(TOKEN, fake.url)
    yield ReplicateWebhookReceiver(client, inbox)
    await client._async_client.aclose()


async def test_a_signed_delivery_is_recorded_and_the_secret_read_once(
    fake: FakeReplicate, receiver: ReplicateWebhookReceiver, inbox: SqlPredictionInbox
) -> None:
    for attempt in range(3):  # Replicate retries a delivery with the same id
        await receiver.receive(BODY, fake.sign(BODY, "msg_1", int(time.time()) - attempt))
    assert await inbox.get(PREDICTION["id"]) == {
        "id": PREDICTION["id"],
        "status": "succeeded",
        "output": PREDICTION["output"],
        "error": None,
    }
    assert len(fake.calls("GET", "/v1/webhooks/default/secret")) == 1


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda h: {**h, "webhook-signature": "v1,bm90IHRoZSBzaWduYXR1cmU="}, id="wrong-signature"),
        pytest.param(lambda h: {**h, "webhook-id": "msg_other"}, id="other-id"),
        pytest.param(lambda h: {**h, "webhook-signature": h["webhook-signature"][3:]}, id="unversioned"),
        pytest.param(lambda h: {**h, "webhook-signature": "v1,@@@"}, id="not-base64"),
        pytest.param(lambda h: {k: v for k, v in h.items() if k != "webhook-timestamp"}, id="no-timestamp"),
        pytest.param(lambda h: {"content-type": "application/json"}, id="unsigned"),
    ],
)
async def test_a_forged_delivery_is_refused_and_not_recorded(
    fake: FakeReplicate, receiver: ReplicateWebhookReceiver, inbox: SqlPredictionInbox, forge: object
) -> None:
    headers = fake.sign(BODY, "msg_1", int(time.time()))
    with pytest.raises(InvalidSignature):
        await receiver.receive(BODY, forge(headers))  # type: ignore[operator]
    assert await inbox.get(PREDICTION["id"]) is None


async def test_a_tampered_body_is_refused(fake: FakeReplicate, receiver: ReplicateWebhookReceiver) -> None:
    headers = fake.sign(BODY, "msg_1", int(time.time()))
    with pytest.raises(InvalidSignature):
        await receiver.receive(BODY.replace(b"succeeded", b"failed\\u0000"), headers)


@pytest.mark.parametrize("age", [301, -301], ids=["replayed-after-5-minutes", "from-the-future"])
async def test_a_correctly_signed_but_stale_delivery_is_refused(
    fake: FakeReplicate, receiver: ReplicateWebhookReceiver, inbox: SqlPredictionInbox, age: int
) -> None:
    with pytest.raises(InvalidSignature):
        await receiver.receive(BODY, fake.sign(BODY, "msg_1", int(time.time()) - age))
    assert await inbox.get(PREDICTION["id"]) is None
    await receiver.receive(BODY, fake.sign(BODY, "msg_1", int(time.time()) - 240))  # within 5 minutes
    assert await inbox.get(PREDICTION["id"]) is not None


async def test_a_signed_body_that_is_not_a_prediction_is_a_bad_request(
    fake: FakeReplicate, receiver: ReplicateWebhookReceiver
) -> None:
    body = b'{"hello": "world"}'
    with pytest.raises(InvalidRequest):
        await receiver.receive(body, fake.sign(body, "msg_2", int(time.time())))


async def test_without_the_secret_a_delivery_is_refused_as_unavailable(inbox: SqlPredictionInbox) -> None:
    client = replicate_client(TOKEN, "http://127.0.0.1:9")
    try:
        with pytest.raises(ServiceUnavailable):
            await ReplicateWebhookReceiver(client, inbox).receive(BODY, {})
    finally:
        await client._async_client.aclose()
