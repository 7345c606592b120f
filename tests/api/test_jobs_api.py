"""The job API through the Litestar app, with fakes behind the ports and the in-server worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeRemover, fake_image
from litestar.testing import AsyncTestClient

from api.conftest import api_key, fake_adapters, make_settings
from domain.errors import InvalidImage
from domain.ports import Mask
from entrypoints.bootstrap import Adapters
from entrypoints.http.app import create_app
from entrypoints.worker import Schedule

FAST = Schedule(poll=0.02, callbacks=0.05, reclaim=0.05, retention=0.05)
IMAGE = fake_image(2000, 1500)


class GatedRemover(FakeRemover):
    """Holds every job until the test opens the gate, so tests can watch a job run."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def mask(self, picture: Any) -> Mask:
        await self.gate.wait()
        return await super().mask(picture)


@pytest.fixture
def adapters() -> Adapters:
    return fake_adapters(remover=GatedRemover())


async def start(tmp_path: Path, adapters: Adapters, **env: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(make_settings(tmp_path, **env), adapters, FAST)) as client:
        yield client


@pytest.fixture
async def client(tmp_path: Path, adapters: Adapters) -> AsyncIterator[AsyncTestClient[Any]]:
    async for client in start(tmp_path, adapters):
        yield client


@pytest.fixture
async def idle_client(tmp_path: Path, adapters: Adapters) -> AsyncIterator[AsyncTestClient[Any]]:
    """A server whose own worker is off: jobs stay queued."""
    async for client in start(tmp_path, adapters, CUTOUT_SERVER_WORKER="false"):
        yield client


async def submit(client: AsyncTestClient[Any], key: str, **headers: str) -> Any:
    return await client.post(
        "/api/v1/jobs",
        files={"image_file": ("photo.jpg", IMAGE, "image/jpeg")},
        data={"size": "full", "callback_url": "https://hooks.example/cutout"},
        headers={"X-Api-Key": key, **headers},
    )


async def credits(client: AsyncTestClient[Any], key: str) -> int:
    return (await client.get("/api/v1/me", headers={"X-Api-Key": key})).json()["credits"]


async def wait_for_status(client: AsyncTestClient[Any], key: str, job_id: str, status: str) -> dict[str, Any]:
    for _ in range(200):
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers={"X-Api-Key": key})).json()
        if job["status"] == status:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} is {job['status']}, not {status}")


async def test_submit_follow_and_download(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    key = await api_key(client)
    response = await submit(client, key)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued" and job["credits"] == 1 and job["result"] is None
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert await credits(client, key) == 2

    adapters.remover.gate.set()  # type: ignore[attr-defined]
    async with client.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers={"X-Api-Key": key}) as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        body = "".join([chunk async for chunk in events.aiter_text()])
    updates = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    assert updates[-1]["status"] == "succeeded" and updates[-1]["progress"] == 100
    assert [u["progress"] for u in updates] == sorted(u["progress"] for u in updates)

    done = (await client.get(f"/api/v1/jobs/{job['id']}", headers={"X-Api-Key": key})).json()
    assert done["result"]["width"] == 2000 and done["result"]["media_type"] == "image/png"
    result = await client.get(f"/api/v1/jobs/{job['id']}/result", headers={"X-Api-Key": key}, follow_redirects=False)
    assert result.status_code == 302
    assert result.headers["location"].startswith(f"memory://jobs/{job['id']}/result")
    assert await credits(client, key) == 2


async def test_idempotency_key(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    first = await submit(client, key, **{"Idempotency-Key": "order-1"})
    again = await submit(client, key, **{"Idempotency-Key": "order-1"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"] and await credits(client, key) == 2
    other = await client.post(
        "/api/v1/jobs",
        json={"image_file_b64": "ZmFrZToxMDB4MTAw", "size": "full"},
        headers={"X-Api-Key": key, "Idempotency-Key": "order-1"},
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert await credits(client, key) == 2


async def test_cancel_a_queued_job_refunds_it(idle_client: AsyncTestClient[Any]) -> None:
    key = await api_key(idle_client)
    job = (await submit(idle_client, key)).json()
    assert await credits(idle_client, key) == 2
    canceled = await idle_client.delete(f"/api/v1/jobs/{job['id']}", headers={"X-Api-Key": key})
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert await credits(idle_client, key) == 3
    again = await idle_client.delete(f"/api/v1/jobs/{job['id']}", headers={"X-Api-Key": key})
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    result = await idle_client.get(f"/api/v1/jobs/{job['id']}/result", headers={"X-Api-Key": key})
    assert result.status_code == 409 and result.json()["error"]["code"] == "result_not_ready"
    assert await credits(idle_client, key) == 3


async def test_another_users_job_is_not_found_everywhere(idle_client: AsyncTestClient[Any]) -> None:
    ada, bob = await api_key(idle_client), await api_key(idle_client, "bob@example.com")
    job_id = (await submit(idle_client, ada)).json()["id"]
    for method, path in [
        ("GET", f"/api/v1/jobs/{job_id}"),
        ("GET", f"/api/v1/jobs/{job_id}/result"),
        ("GET", f"/api/v1/jobs/{job_id}/events"),
        ("DELETE", f"/api/v1/jobs/{job_id}"),
    ]:
        response = await idle_client.request(method, path, headers={"X-Api-Key": bob})
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    assert (await idle_client.get("/api/v1/jobs", headers={"X-Api-Key": bob})).json()["total"] == 0
    assert (await idle_client.get(f"/api/v1/jobs/{job_id}", headers={"X-Api-Key": ada})).status_code == 200


async def test_list_is_newest_first_and_paginated(idle_client: AsyncTestClient[Any], adapters: Adapters) -> None:
    key = await api_key(idle_client)
    ids = []
    for _ in range(3):
        ids.append((await submit(idle_client, key)).json()["id"])
        adapters.clock.advance(seconds=1)  # type: ignore[attr-defined]
    page = (await idle_client.get("/api/v1/jobs?limit=2", headers={"X-Api-Key": key})).json()
    rest = (await idle_client.get("/api/v1/jobs?limit=2&offset=2", headers={"X-Api-Key": key})).json()
    assert page["total"] == 3 and [j["id"] for j in page["data"] + rest["data"]] == ids[::-1]


async def test_a_permanent_failure_is_reported_and_refunded(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    key = await api_key(client)
    adapters.remover.error = InvalidImage("The image has no subject.")  # type: ignore[attr-defined]
    adapters.remover.gate.set()  # type: ignore[attr-defined]
    job = (await submit(client, key)).json()
    failed = await wait_for_status(client, key, job["id"], "failed")
    assert failed["error"] == {"code": "invalid_image", "message": "The image has no subject."}
    assert await credits(client, key) == 3


async def test_the_callback_is_sent_with_the_users_secret(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    key = await api_key(client)
    adapters.remover.gate.set()  # type: ignore[attr-defined]
    job = (await submit(client, key)).json()
    await wait_for_status(client, key, job["id"], "succeeded")
    sender = adapters.webhook_sender
    for _ in range(100):
        if sender.sent:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.02)
    [(url, secret, _, payload)] = sender.sent  # type: ignore[attr-defined]
    assert url == "https://hooks.example/cutout" and json.loads(payload)["data"]["status"] == "succeeded"
    shown = (await client.get("/api/v1/webhook-secret", headers={"X-Api-Key": key})).json()["secret"]
    assert shown == secret
    rotated = (await client.post("/api/v1/webhook-secret/rotate", headers={"X-Api-Key": key})).json()["secret"]
    assert rotated != secret and rotated.startswith("whsec_")
    assert (await client.get("/api/v1/webhook-secret", headers={"X-Api-Key": key})).json()["secret"] == rotated


async def test_jobs_expire_after_the_retention_window(tmp_path: Path) -> None:
    adapters = fake_adapters()
    async for client in start(tmp_path, adapters, CUTOUT_RETENTION_HOURS="1"):
        key = await api_key(client)
        job = (await submit(client, key)).json()
        await wait_for_status(client, key, job["id"], "succeeded")
        adapters.clock.advance(hours=1, seconds=1)  # type: ignore[attr-defined]
        await wait_for_status(client, key, job["id"], "expired")
        gone = await client.get(f"/api/v1/jobs/{job['id']}/result", headers={"X-Api-Key": key})
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "result_expired"
        assert adapters.blob_store.blobs == {}  # type: ignore[attr-defined]
        assert await credits(client, key) == 2


async def test_bad_submissions_cost_nothing(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"json": {"image_file_b64": "aGVsbG8=", "size": "full"}}, 400, "invalid_image"),
        ({"json": {"size": "full"}}, 400, "missing_source"),
        (
            {"json": {"image_file_b64": "ZmFrZToxMDB4MTAw", "callback_url": "javascript:alert(1)"}},
            400,
            "invalid_option",
        ),
        ({"json": {"image_file_b64": "ZmFrZToxMDB4MTAw", "callback_url": "http://[::1"}}, 400, "invalid_option"),
        (
            {"json": {"image_file_b64": "ZmFrZToxMDB4MTAw", "callback_url": "https://hooks.example/" + "a" * 2000}},
            422,
            "field_too_long",
        ),
    ]
    for kwargs, status, code in cases:
        response = await client.post("/api/v1/jobs", headers={"X-Api-Key": key}, **kwargs)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert (await client.post("/api/v1/jobs", json={"image_file_b64": "eA=="})).status_code == 401
    assert await credits(client, key) == 3
