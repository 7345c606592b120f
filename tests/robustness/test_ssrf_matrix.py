"""The SSRF matrix against ``image_url`` of POST /api/v1/removebg: the real app and the real
``SafeUrlFetcher`` with its production address policy, over a stand-in network (see ssrf.py).
Every URL is refused with 400 ``url_not_allowed``, without a connection attempt and without a credit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from api.conftest import make_settings
from live_accounts import new_api_key
from robustness.live_server import serve_in_thread
from robustness.real_app import migrated, real_adapters
from robustness.ssrf import PUBLIC_HOST, SSRF_CASES, SsrfCase, SsrfNetwork, redirect

from adapters.url_fetcher import SafeUrlFetcher
from entrypoints.http.app import create_app


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp("var")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'cutout.db'}"
    asyncio.run(migrated(database_url))
    app = create_app(make_settings(data_dir), real_adapters(database_url, fetcher=SafeUrlFetcher()))
    with serve_in_thread(app) as base:
        key = new_api_key(base, "ssrf@example.com")
        with httpx.Client(base_url=base, timeout=30, headers={"X-Api-Key": key}) as client:
            yield client


def balance(api: httpx.Client) -> int:
    return api.get("/api/v1/me").json()["credits"]


@pytest.mark.parametrize(
    "url", [f"http://{PUBLIC_HOST}/image.jpg", redirect("/image.jpg")], ids=["direct", "redirected"]
)
def test_the_stand_in_network_serves_a_public_image(api: httpx.Client, ssrf_network: SsrfNetwork, url: str) -> None:
    response = api.post("/api/v1/removebg", json={"image_url": url, "size": "full"})
    assert response.status_code == 200, response.text
    assert response.headers["x-credits-charged"] == "1"
    assert ssrf_network.refused_connects == []


@pytest.mark.parametrize("case", SSRF_CASES, ids=str)
def test_image_url_is_refused_before_any_connection(
    api: httpx.Client, ssrf_network: SsrfNetwork, case: SsrfCase
) -> None:
    ssrf_network.use(case)
    before = balance(api)
    response = api.post("/api/v1/removebg", json={"image_url": case.url, "size": "full"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "url_not_allowed"), response.text
    assert ssrf_network.refused_connects == []
    assert balance(api) == before
