"""``CUTOUT_INFERENCE=replicate``: the app as ``build_adapters`` wires it (SQLite, the real imaging, the
Replicate adapter and the real ``replicate`` client) pointed at our fake Replicate on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from fake_replicate import TOKEN, FakeReplicate, centre_ellipse
from fakes import CentreMaskRemover
from images import encode, person_scene
from litestar.testing import AsyncTestClient
from PIL import Image

from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from adapters.sql.migrate import upgrade
from adapters.sql.prediction_inbox import SqlPredictionInbox
from api.conftest import PASSWORD, api_key, fake_adapters, make_settings
from entrypoints.bootstrap import REPLICATE_WEBHOOK_PATH, Adapters, build_adapters
from entrypoints.http.app import create_app
from entrypoints.worker import Schedule

PHOTO = encode(person_scene(640, 480)[0], quality=90)  # 0.31 MP: a full-size cut-out costs 1 credit


@pytest.fixture
def fake() -> Iterator[FakeReplicate]:
    with FakeReplicate() as server:
        yield server


async def replicate_adapters(tmp_path: Path, fake: FakeReplicate, **env: str) -> Adapters:
    settings = make_settings(
        tmp_path, CUTOUT_INFERENCE="replicate", REPLICATE_API_TOKEN=TOKEN, REPLICATE_BASE_URL=fake.url, **env
    )
    adapters = build_adapters(settings)
    await upgrade(adapters.uow.engine)  # type: ignore[attr-defined]
    return adapters


@pytest.fixture
async def adapters(tmp_path: Path, fake: FakeReplicate) -> Adapters:
    return await replicate_adapters(tmp_path, fake)


@pytest.fixture
async def client(tmp_path: Path, adapters: Adapters) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(make_settings(tmp_path), adapters)) as client:
        yield client


async def cut_out(client: AsyncTestClient[Any], key: str, **fields: str) -> httpx.Response:
    photo = {"image_file": ("photo.jpg", PHOTO, "image/jpeg")}
    return await client.post("/api/v1/removebg", files=photo, data=fields, headers={"X-Api-Key": key})


@pytest.mark.parametrize(
    "options",
    [{"size": "full"}, {"size": "full", "format": "jpg", "bg_color": "81d4fa"}, {"format": "webp", "crop": "true"}],
    ids=["png", "jpg-on-colour", "webp-cropped"],
)
async def test_a_cut_out_on_replicate_is_composed_by_our_pipeline_and_charged_like_a_local_one(
    client: AsyncTestClient[Any], fake: FakeReplicate, tmp_path: Path, options: dict[str, str]
) -> None:
    key = await api_key(client)
    response = await cut_out(client, key, **options)
    assert response.status_code == 200, response.text
    assert response.headers["x-credits-charged"] == "1"
    assert (await client.get("/api/v1/me", headers={"X-Api-Key": key})).json()["credits"] == 2
    assert len(fake.predictions) == 1

    # The same request to a local-model app whose "model" finds the same subject gives the same bytes.
    local = fake_adapters(imaging=PillowImaging(CpuPool()), remover=CentreMaskRemover())
    async with AsyncTestClient(create_app(make_settings(tmp_path / "local"), local)) as other:
        expected = await cut_out(other, await api_key(other), **options)
    assert expected.status_code == 200
    assert response.headers["content-type"] == expected.headers["content-type"]
    assert (response.headers["x-width"], response.headers["x-height"]) == (
        expected.headers["x-width"],
        expected.headers["x-height"],
    )
    assert response.content == expected.content


async def test_a_failed_prediction_is_503_and_refunds_the_credit(
    client: AsyncTestClient[Any], fake: FakeReplicate
) -> None:
    fake.behaviour.outcome = "failed"
    key = await api_key(client)
    response = await cut_out(client, key, size="full")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "inference_failed" and "CUDA out of memory" in error["message"]
    statement = (await client.get("/api/v1/credits", headers={"X-Api-Key": key})).json()
    assert statement["balance"] == 3
    assert sorted((e["kind"], e["delta"]) for e in statement["entries"]) == [
        ("charge", -1),
        ("refund", 1),
        ("signup_grant", 3),
    ]


async def test_readiness_reports_replicate(client: AsyncTestClient[Any], fake: FakeReplicate) -> None:
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "replicate": "ok", "storage": "ok"}


async def test_a_rejected_token_is_a_readiness_failure_and_a_503_not_a_500(tmp_path: Path, fake: FakeReplicate) -> None:
    fake.token = "r8_the_real_one"
    adapters = await replicate_adapters(tmp_path, fake)
    async with AsyncTestClient(create_app(make_settings(tmp_path), adapters)) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["replicate"] == "unavailable"
        key = await api_key(client)
        response = await cut_out(client, key, size="full")
        assert response.status_code == 503 and response.json()["error"]["code"] == "inference_failed"
        assert (await client.get("/api/v1/me", headers={"X-Api-Key": key})).json()["credits"] == 3


async def test_a_queued_job_runs_on_replicate_and_its_result_is_our_composition(
    tmp_path: Path, fake: FakeReplicate
) -> None:
    adapters = await replicate_adapters(tmp_path, fake)
    schedule = Schedule(poll=0.02, callbacks=0.05, reclaim=0.05, retention=0.05)
    async with AsyncTestClient(create_app(make_settings(tmp_path), adapters, schedule)) as client:
        key = await api_key(client)
        photo = {"image_file": ("photo.jpg", PHOTO, "image/jpeg")}
        submitted = await client.post("/api/v1/jobs", files=photo, data={"size": "full"}, headers={"X-Api-Key": key})
        assert submitted.status_code == 202, submitted.text
        job_url = f"/api/v1/jobs/{submitted.json()['id']}"
        for _ in range(250):
            job = (await client.get(job_url, headers={"X-Api-Key": key})).json()
            if job["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.02)
        assert job["status"] == "succeeded", job
        link = await client.get(f"{job_url}/result", headers={"X-Api-Key": key}, follow_redirects=False)
        assert link.status_code == 302
        download = await client.get(httpx.URL(link.headers["location"]).raw_path.decode())
        assert download.status_code == 200, download.text
        assert (await client.get("/api/v1/me", headers={"X-Api-Key": key})).json()["credits"] == 2
    result = Image.open(BytesIO(download.content))
    assert result.size == (640, 480)
    assert np.array_equal(np.asarray(result.getchannel("A")), np.asarray(centre_ellipse((640, 480))))
    assert len(fake.predictions) == 1


def signed(fake: FakeReplicate, age: int = 0) -> tuple[bytes, dict[str, str]]:
    prediction = {"id": "p-webhook", "model": "bria/remove-background", "version": "hidden", "status": "succeeded"}
    body = json.dumps({**prediction, "output": "https://replicate.delivery/o.png", "error": None}).encode()
    return body, fake.sign(body, "msg_1", int(time.time()) - age)


async def test_the_webhook_endpoint_records_signed_deliveries_and_refuses_others(
    client: AsyncTestClient[Any], adapters: Adapters, fake: FakeReplicate
) -> None:
    inbox = SqlPredictionInbox(adapters.uow.engine, adapters.clock)  # type: ignore[attr-defined]

    body, headers = signed(fake, age=400)
    stale = await client.post(REPLICATE_WEBHOOK_PATH, content=body, headers=headers)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "invalid_signature"

    body, headers = signed(fake)
    forged = await client.post(REPLICATE_WEBHOOK_PATH, content=body.replace(b"succeeded", b"failed"), headers=headers)
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"
    assert await inbox.get("p-webhook") is None

    # A browser's session cookie changes nothing: the signature, not CSRF, guards this route.
    await client.post("/api/v1/auth/signup", json={"email": "ada@example.com", "password": PASSWORD})
    assert "cutout_session" in client.cookies
    accepted = await client.post(REPLICATE_WEBHOOK_PATH, content=body, headers=headers)
    assert accepted.status_code == 204, accepted.text
    assert (await inbox.get("p-webhook") or {})["status"] == "succeeded"


async def test_the_webhook_endpoint_is_404_with_local_inference(tmp_path: Path, fake: FakeReplicate) -> None:
    async with AsyncTestClient(create_app(make_settings(tmp_path), fake_adapters())) as client:
        body, headers = signed(fake)
        response = await client.post(REPLICATE_WEBHOOK_PATH, content=body, headers=headers)
        operation = (await client.get("/schema/openapi.json")).json()["paths"][REPLICATE_WEBHOOK_PATH]["post"]
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert "security" not in operation and {"204", "401"} <= set(operation["responses"])


@pytest.fixture
async def served(tmp_path: Path, fake: FakeReplicate, unused_tcp_port: int) -> AsyncIterator[httpx.AsyncClient]:
    """A real server at a public URL Replicate can reach (webhooks, blob links), and a client of it."""
    public_url = f"http://127.0.0.1:{unused_tcp_port}"
    adapters = await replicate_adapters(tmp_path, fake, CUTOUT_PUBLIC_URL=public_url)
    app = create_app(make_settings(tmp_path, CUTOUT_PUBLIC_URL=public_url), adapters)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=unused_tcp_port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=public_url, timeout=20) as http:
            await http.post("/api/v1/auth/signup", json={"email": "ada@example.com", "password": PASSWORD})
            yield http
    finally:
        server.should_exit = True
        await serving


async def cut_out_over_http(http: httpx.AsyncClient, photo: bytes) -> httpx.Response:
    return await http.post(
        "/api/v1/removebg",
        files={"image_file": ("photo.jpg", photo, "image/jpeg")},
        data={"size": "full"},
        headers={"X-CSRFToken": http.cookies["csrftoken"]},
    )


async def test_with_a_public_url_replicate_calls_back_and_no_polling_is_needed(
    served: httpx.AsyncClient, fake: FakeReplicate
) -> None:
    """Replicate's webhook reaches the server over HTTP and lands in the shared inbox, and the request
    waiting for the prediction finishes from there, before its fallback poll (every 5 s) is due."""
    fake.behaviour.seconds, fake.behaviour.honour_wait = 0.3, False
    response = await cut_out_over_http(served, PHOTO)
    assert response.status_code == 200, response.text
    assert response.headers["x-credits-charged"] == "1"
    hook = f"{served.base_url}{REPLICATE_WEBHOOK_PATH}"
    (create,) = fake.calls("POST", "/v1/models/")
    assert create.body["webhook"] == hook
    assert fake.deliveries == [(hook, 204)]
    assert fake.calls("GET", "/v1/predictions/") == []  # the fallback poll (every 5 s) never ran


async def test_a_large_input_is_fetched_by_replicate_through_a_signed_blob_link(
    served: httpx.AsyncClient, fake: FakeReplicate
) -> None:
    rng = np.random.default_rng(5)
    noise = Image.fromarray(rng.integers(0, 256, (700, 700, 3), dtype=np.uint8), "RGB")
    response = await cut_out_over_http(served, encode(noise, quality=95))
    assert response.status_code == 200, response.text
    (url,) = fake.fetched
    assert url.startswith(f"{served.base_url}/api/v1/blobs/replicate/") and "signature=" in url
    (create,) = fake.calls("POST", "/v1/models/")
    assert create.body["input"]["image"] == url
    result = Image.open(BytesIO(response.content))
    assert np.array_equal(np.asarray(result.getchannel("A")), np.asarray(centre_ellipse(noise.size)))
    assert (await served.get(url)).status_code == 404  # deleted once the prediction ended
