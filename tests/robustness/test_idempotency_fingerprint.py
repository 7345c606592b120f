"""#12 defect 2: an ``Idempotency-Key`` compares requests by a digest of them (the background by its
own digest). The same request with the same key is the same job, charged once; another background
under the same key is ``422 idempotency_key_reused``. (That no fingerprint is taken without a key, and
that taking one copies no image, is tests/unit/test_job_queue.py's.)"""

from __future__ import annotations

from pathlib import Path

import httpx
from images import encode, person_scene
from PIL import Image
from robustness.job_flows import account, finished, served

PHOTO = encode(person_scene(640, 480)[0], quality=90)
GREEN = encode(Image.new("RGB", (800, 600), (20, 140, 60)), "PNG")
BLUE = encode(Image.new("RGB", (800, 600), (20, 60, 140)), "PNG")


async def submit(client: httpx.AsyncClient, background: bytes, key: str) -> httpx.Response:
    return await client.post(
        "/api/v1/jobs",
        files={"image_file": ("p.jpg", PHOTO), "bg_image_file": ("bg.png", background)},
        data={"size": "full"},
        headers={"Idempotency-Key": key},
    )


async def test_a_key_answers_its_first_job_and_refuses_another_background(any_database: str, tmp_path: Path) -> None:
    with served(any_database, tmp_path) as base:
        async with account(base, any_database, "retry@example.com", credits=3) as client:
            first = await submit(client, GREEN, "order-1")
            again = await submit(client, GREEN, "order-1")
            other = await submit(client, BLUE, "order-1")
            assert (await finished(client, first.json()["id"]))["status"] == "succeeded"
            statement = (await client.get("/api/v1/credits")).json()
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert statement["balance"] == 2  # one charge for the one job
