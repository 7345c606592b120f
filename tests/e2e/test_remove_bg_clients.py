"""A real remove.bg client, remove-bg-api 0.2.1, unchanged but for its base URL, against a real
``cutout serve`` (SQLite, the real model): cut-outs, previews, the balance and errors; and the rate
limit of the shared database, seen over HTTP."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import remove_bg_api
from e2e.test_server import start_server
from images import encode, person_scene
from live_accounts import new_api_key
from PIL import Image

pytestmark = pytest.mark.model

RATE_LIMIT = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from start_server(tmp_path_factory, CUTOUT_SIGNUP_CREDITS="2", CUTOUT_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT))


@pytest.fixture
def client_at(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(remove_bg_api, "API_URL", f"{server}/v1.0")  # the client's only URL setting
    return server


def test_remove_bg_api_cuts_out_previews_counts_and_fails_like_remove_bg(client_at: str, tmp_path: Path) -> None:
    photo, subject = person_scene(1600, 1200)
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(photo, quality=90))
    client = remove_bg_api.RemoveBg(new_api_key(client_at, "client@example.com"))  # reads /v1.0/account
    assert client.account.balance() == 2
    assert client.account.get_balance_dict() == {"total": 2, "subscription": 0, "payg": 2, "enterprise": 0}

    preview = Image.open(io.BytesIO(client.remove_bg_file(str(path))))  # size=preview, format=auto
    assert (preview.format, preview.mode) == ("PNG", "RGBA")
    assert preview.width * preview.height <= 250_000 and client.account.balance() == 2

    full = Image.open(client.remove_bg_file(str(path), size="full", raw=False, out_path=str(tmp_path / "full.png")))
    assert full.size == (1600, 1200) and client.account.balance() == 1  # from X-Credits-Charged
    alpha = np.asarray(full.getchannel("A"))
    assert alpha[np.asarray(subject) > 0].mean() > 180 and alpha[:150, :150].mean() < 40

    with pytest.raises(remove_bg_api.Errors.ApiErrorCode400):
        client.remove_bg_bytes(b"not an image")
    with pytest.raises(remove_bg_api.Errors.ApiErrorCode403):
        remove_bg_api.RemoveBg("co_not_a_key")
    client.remove_bg_file(str(path), size="full")
    with pytest.raises(remove_bg_api.Errors.ApiErrorCode402):
        client.remove_bg_file(str(path), size="full")
    client.account.refresh_balance()
    assert client.account.balance() == 0


def test_a_picture_without_subject_is_unknown_foreground_and_costs_nothing(server: str) -> None:
    key = new_api_key(server, "blank@example.com")
    blank = encode(Image.new("RGB", (1200, 900), (240, 240, 240)), quality=90)
    with httpx.Client(base_url=server, timeout=60, headers={"X-Api-Key": key}) as api:
        response = api.post("/v1.0/removebg", files={"image_file": ("blank.jpg", blank)}, data={"size": "full"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "unknown_foreground"
        assert api.get("/v1.0/account").json()["data"]["attributes"]["credits"]["total"] == 2


def test_the_rate_limit_answers_429_with_its_headers(server: str) -> None:
    key = new_api_key(server, "busy@example.com")
    with httpx.Client(base_url=server, timeout=30, headers={"X-Api-Key": key}) as api:
        # Refused requests are cheap (no image) but counted all the same; a window may turn over once.
        for _ in range(2 * RATE_LIMIT + 1):
            response = api.post("/v1.0/removebg", data={"size": "preview"})
            if response.status_code == 429:
                break
            assert response.status_code == 400 and response.headers["x-ratelimit-limit"] == str(RATE_LIMIT)
        assert response.status_code == 429
        assert response.json()["errors"][0]["code"] == "rate_limit_exceeded"
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert 0 < int(response.headers["x-ratelimit-reset"]) - time.time() <= 61
        native = api.post("/api/v1/removebg", data={"size": "preview"})
        assert native.status_code == 429 and native.json()["error"]["code"] == "rate_limited"
