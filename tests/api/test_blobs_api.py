"""``GET /api/v1/blobs/{key}``: the filesystem store's signed download links, served by the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from litestar.testing import AsyncTestClient

from adapters.fs_store import FsBlobStore
from api.conftest import fake_adapters, make_settings
from entrypoints.http.app import create_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> FsBlobStore:
    return FsBlobStore(tmp_path / "blobs", "http://testserver.local", "test-secret", clock)


@pytest.fixture
async def blob_client(tmp_path: Path, store: FsBlobStore, clock: FakeClock) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(make_settings(tmp_path), fake_adapters(clock=clock, blob_store=store))
    async with AsyncTestClient(app) as client:
        yield client


async def test_a_signed_link_downloads_without_signing_in(
    blob_client: AsyncTestClient[Any], store: FsBlobStore
) -> None:
    await store.put("jobs/1/output", b"\x89PNG...", "image/png")
    url = await store.url("jobs/1/output", timedelta(hours=1), "photo.png")
    assert url.startswith("http://testserver.local/api/v1/blobs/jobs/1/output?expires=")
    response = await blob_client.get(url)
    assert response.status_code == 200
    assert response.content == b"\x89PNG..."
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == "attachment; filename=\"photo.png\"; filename*=UTF-8''photo.png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


async def test_an_expired_link_is_403_with_the_native_error(
    blob_client: AsyncTestClient[Any], store: FsBlobStore, clock: FakeClock
) -> None:
    await store.put("jobs/2/output", b"png", "image/png")
    url = await store.url("jobs/2/output", timedelta(minutes=5))
    clock.advance(minutes=5, seconds=1)
    response = await blob_client.get(url)
    assert response.status_code == 403
    body = response.json()
    assert body["error"]["code"] == "invalid_signature"
    assert body["error"]["message"] == "This download link is invalid or has expired."
    assert body["requestId"] == response.headers["x-request-id"]


async def test_a_link_to_a_swept_blob_is_404(
    blob_client: AsyncTestClient[Any], store: FsBlobStore, clock: FakeClock
) -> None:
    await store.put("jobs/3/input", b"jpeg", "image/jpeg")
    url = await store.url("jobs/3/input", timedelta(hours=2))
    clock.advance(hours=1)
    assert await store.sweep(clock.now()) == 1
    response = await blob_client.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_path_that_climbs_out_is_refused(blob_client: AsyncTestClient[Any], tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("do not serve")
    response = await blob_client.get(
        "/api/v1/blobs/%2E%2E/secret.txt", params={"expires": 9999999999, "signature": "x"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize(
    "params",
    [{}, {"expires": "9999999999"}, {"signature": "abc"}, {"expires": "soon", "signature": "abc"}],
)
async def test_a_link_missing_its_signature_or_expiry_is_400(
    blob_client: AsyncTestClient[Any], store: FsBlobStore, params: dict[str, str]
) -> None:
    await store.put("jobs/4/output", b"png", "image/png")
    response = await blob_client.get("/api/v1/blobs/jobs/4/output", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


async def test_without_the_filesystem_store_the_route_is_404(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/v1/blobs/jobs/5/output", params={"expires": 9999999999, "signature": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_the_route_is_not_in_the_api_schema(client: AsyncTestClient[Any]) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "/api/v1/removebg" in paths
    assert not [path for path in paths if path.startswith("/api/v1/blobs")]
