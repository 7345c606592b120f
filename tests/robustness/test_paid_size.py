"""#16: the size a queued job is paid for is the size its worker renders. ``size=auto`` on an empty
balance is priced as a free preview at submit; the worker must not render it at full size."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from images import encode, person_scene
from PIL import Image
from robustness.job_flows import account, finished, served

from domain.pricing import PREVIEW_MAX_PIXELS

LARGE = encode(person_scene(1600, 1200)[0], quality=90)  # 1.92 MP: one credit at full size


async def submit_auto(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/api/v1/jobs", files={"image_file": ("big.jpg", LARGE)}, data={"size": "auto"})
    assert response.status_code == 202, response.text
    return await finished(client, response.json()["id"])


async def result_size(client: httpx.AsyncClient, job_id: object) -> tuple[int, int]:
    link = await client.get(f"/api/v1/jobs/{job_id}/result")
    assert link.status_code == 302, link.text
    location = urlsplit(link.headers["location"])
    download = await client.get(f"{location.path}?{location.query}")
    assert download.status_code == 200
    return Image.open(BytesIO(download.content)).size


async def statement(client: httpx.AsyncClient) -> tuple[int, list[str]]:
    body = (await client.get("/api/v1/credits")).json()
    return body["balance"], sorted(entry["kind"] for entry in body["entries"])


async def test_auto_on_no_credits_is_rendered_as_the_free_preview_it_was_priced_as(
    any_database: str, tmp_path: Path
) -> None:
    with served(any_database, tmp_path) as base:
        async with (
            account(base, any_database, "poor@example.com", credits=0) as poor,
            account(base, any_database, "rich@example.com", credits=1) as rich,
        ):
            free = await submit_auto(poor)
            paid = await submit_auto(rich)

            assert free["status"] == "succeeded" and free["credits"] == 0
            width, height = await result_size(poor, free["id"])
            assert width * height <= PREVIEW_MAX_PIXELS
            assert free["result"]["width"] * free["result"]["height"] <= PREVIEW_MAX_PIXELS
            assert await statement(poor) == (0, [])

            assert paid["status"] == "succeeded" and paid["credits"] == 1
            assert await result_size(rich, paid["id"]) == (1600, 1200)
            assert await statement(rich) == (0, ["admin_grant", "charge"])
