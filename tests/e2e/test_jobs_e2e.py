"""The asynchronous path as a client meets it: a real `cutout serve` (with its own worker, the real
model, SQLite and blobs on disk); submit, follow over SSE, download, and find it gone after retention."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from io import BytesIO

import httpx
import numpy as np
import pytest
from e2e.test_server import start_server
from images import encode, person_scene
from live_accounts import new_api_key
from PIL import Image

pytestmark = pytest.mark.model

RETENTION_HOURS = 0.002  # 7.2 seconds


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from start_server(tmp_path_factory, CUTOUT_RETENTION_HOURS=str(RETENTION_HOURS))


def test_submit_follow_download_and_expire(server: str) -> None:
    photo, subject = person_scene(800, 600)
    key = new_api_key(server, "jobs@example.com")

    with httpx.Client(base_url=server, timeout=60, headers={"X-Api-Key": key}) as api:
        submitted = api.post("/api/v1/jobs", files={"image_file": ("photo.jpg", encode(photo))}, data={"size": "full"})
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]

        with api.stream("GET", f"/api/v1/jobs/{job_id}/events") as events:
            updates = [json.loads(line[5:]) for line in events.iter_lines() if line.startswith("data:")]
        assert [u["status"] for u in updates][-1] == "succeeded"
        assert updates[-1]["progress"] == 100 and len(updates) >= 2

        download = api.get(f"/api/v1/jobs/{job_id}/result", follow_redirects=True)
        assert download.status_code == 200 and download.headers["content-type"] == "image/png"
        assert "attachment" in download.headers["content-disposition"]
        result = Image.open(BytesIO(download.content))
        assert result.mode == "RGBA" and result.size == (800, 600)
        alpha = np.asarray(result.getchannel("A"))
        assert alpha[np.asarray(subject.resize((800, 600))) > 0].mean() > 180
        assert api.get("/api/v1/me").json()["credits"] == 2

        signed_link = api.get(f"/api/v1/jobs/{job_id}").json()["result"]["url"]
        deadline = time.monotonic() + RETENTION_HOURS * 3600 + 10
        while time.monotonic() < deadline and api.get(f"/api/v1/jobs/{job_id}").json()["status"] != "expired":
            time.sleep(0.5)
        assert api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "expired"
        gone = api.get(f"/api/v1/jobs/{job_id}/result")
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "result_expired"
        assert httpx.get(signed_link).status_code == 404  # the file itself is deleted
