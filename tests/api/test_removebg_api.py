"""``POST /api/v1/removebg`` through the app, with fakes behind the ports."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fakes import fake_image
from litestar.testing import AsyncTestClient

from api.conftest import api_key
from entrypoints.bootstrap import Adapters

BIG = fake_image(4000, 3000)


async def balance(client: AsyncTestClient[Any], key: str) -> int:
    return (await client.get("/api/v1/me", headers={"X-Api-Key": key})).json()["credits"]


async def test_full_size_upload_costs_one_credit(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    response = await client.post(
        "/api/v1/removebg",
        files={"image_file": ("photo.jpg", BIG, "image/jpeg")},
        data={"size": "full"},
        headers={"X-Api-Key": key},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-credits-charged"] == "1"
    assert (response.headers["x-width"], response.headers["x-height"]) == ("4000", "3000")
    assert len(response.headers["x-request-id"]) == 32
    assert response.content == b"cutout:4000x3000:mask"
    assert await balance(client, key) == 2


async def test_preview_is_free(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    response = await client.post(
        "/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, data={"size": "preview"}, headers={"X-Api-Key": key}
    )
    assert response.headers["x-credits-charged"] == "0"
    assert int(response.headers["x-width"]) * int(response.headers["x-height"]) <= 250_000
    assert await balance(client, key) == 3


@pytest.mark.parametrize("encoding", ["json", "urlencoded", "multipart"])
async def test_every_body_encoding_gives_the_same_answer(client: AsyncTestClient[Any], encoding: str) -> None:
    key = await api_key(client)
    fields = {"image_file_b64": base64.b64encode(BIG).decode(), "size": "full", "format": "webp", "crop": "false"}
    headers = {"X-Api-Key": key}
    if encoding == "json":
        response = await client.post("/api/v1/removebg", json={**fields, "crop": False}, headers=headers)
    elif encoding == "urlencoded":
        response = await client.post("/api/v1/removebg", data=fields, headers=headers)
    else:
        response = await client.post("/api/v1/removebg", data=fields, files={"unused": ("x", b"")}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    assert response.content == b"cutout:4000x3000:mask"


async def test_json_takes_native_types(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    key = await api_key(client)
    body = {"image_file_b64": base64.b64encode(BIG).decode(), "crop": True, "crop_margin": 30, "bg_color": "fff"}
    response = await client.post("/api/v1/removebg", json=body, headers={"X-Api-Key": key})
    assert response.status_code == 200, response.text
    options = adapters.imaging.rendered[-1][1]  # type: ignore[attr-defined]
    assert options.crop and options.crop_margin.top.value == 30 and options.bg_color == "fff"


async def test_image_url_is_fetched(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    adapters.fetcher.pages["https://images.example/cat.jpg"] = BIG  # type: ignore[attr-defined]
    key = await api_key(client)
    response = await client.post(
        "/api/v1/removebg", json={"image_url": "https://images.example/cat.jpg"}, headers={"X-Api-Key": key}
    )
    assert response.status_code == 200 and response.headers["x-credits-charged"] == "1"
    refused = await client.post(
        "/api/v1/removebg", json={"image_url": "http://169.254.169.254/"}, headers={"X-Api-Key": key}
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "url_not_allowed"


async def test_json_answer(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    response = await client.post(
        "/api/v1/removebg",
        files={"image_file": ("p.jpg", BIG)},
        headers={"X-Api-Key": key, "Accept": "application/json"},
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert base64.b64decode(data["result_b64"]) == b"cutout:4000x3000:mask"
    assert response.headers["x-credits-charged"] == "1"


async def test_running_out_of_credits_is_402_and_the_balance_stays_zero(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    for _ in range(3):
        ok = await client.post(
            "/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, data={"size": "full"}, headers={"X-Api-Key": key}
        )
        assert ok.headers["x-credits-charged"] == "1"
    response = await client.post(
        "/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, data={"size": "full"}, headers={"X-Api-Key": key}
    )
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert await balance(client, key) == 0
    auto = await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, headers={"X-Api-Key": key})
    assert auto.status_code == 200 and auto.headers["x-credits-charged"] == "0"  # auto falls back to a preview


async def test_a_model_failure_refunds_and_is_503(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    key = await api_key(client)
    adapters.remover.error = RuntimeError("boom")  # type: ignore[attr-defined]
    response = await client.post(
        "/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, data={"size": "full"}, headers={"X-Api-Key": key}
    )
    assert response.status_code == 503 and response.json()["error"]["code"] == "inference_failed"
    assert await balance(client, key) == 3


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": {"size": "full"}}, 400, "missing_source"),
        (
            {"files": {"image_file": ("p.jpg", BIG)}, "data": {"image_url": "https://x.example/a.jpg"}},
            400,
            "multiple_sources",
        ),
        ({"files": {"image_file": ("p.jpg", BIG)}, "data": {"size": "huge"}}, 400, "invalid_option"),
        ({"files": {"image_file": ("p.jpg", BIG)}, "data": {"format": "gif"}}, 400, "invalid_option"),
        ({"files": {"image_file": ("p.jpg", BIG)}, "data": {"crop": "maybe"}}, 400, "invalid_option"),
        ({"files": {"image_file": ("p.jpg", BIG)}, "data": {"roi": "0 0 5000px 10px"}}, 400, "roi_exceeds_bounds"),
        ({"files": {"image_file": ("p.jpg", BIG)}, "data": {"roi": "50% 0 10% 10%"}}, 400, "roi_region_empty"),
        ({"files": {"image_file": ("p.jpg", BIG)}, "data": {"scale": "5%"}}, 400, "invalid_option"),
        (
            {
                "files": {"image_file": ("p.jpg", BIG)},
                "data": {"bg_color": "red", "bg_image_url": "https://x.example/b.jpg"},
            },
            400,
            "multiple_bg_sources",
        ),
        ({"files": {"image_file": ("p.jpg", BIG)}, "data": {"crop_margin": "99%"}}, 400, "invalid_option"),
        ({"files": {"image_file": ("p.jpg", BIG)}, "data": {"bg_color": "not-a-colour"}}, 400, "invalid_option"),
        ({"json": {"image_file_b64": "%%% not base64"}}, 400, "invalid_image"),
        ({"json": ["not", "an", "object"]}, 400, "invalid_request"),
        ({"content": b"raw", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"files": {"image_file": ("p.txt", b"just some text")}}, 400, "invalid_image"),
    ],
)
async def test_bad_requests_are_4xx_with_a_code_and_cost_nothing(
    client: AsyncTestClient[Any], kwargs: dict[str, Any], status: int, code: str
) -> None:
    key = await api_key(client)
    headers = {"X-Api-Key": key, **kwargs.pop("headers", {})}
    response = await client.post("/api/v1/removebg", headers=headers, **kwargs)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert await balance(client, key) == 3


async def test_a_body_over_25_mb_is_413(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    response = await client.post(
        "/api/v1/removebg", files={"image_file": ("big.jpg", b"\0" * 25_000_001)}, headers={"X-Api-Key": key}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "file_too_large"
    assert await balance(client, key) == 3


async def test_signed_out_is_401_except_for_a_preview(client: AsyncTestClient[Any]) -> None:
    for size in ("auto", "full"):
        response = await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, data={"size": size})
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    preview = await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, data={"size": "preview"})
    assert preview.status_code == 200 and preview.headers["x-credits-charged"] == "0"
    assert int(preview.headers["x-width"]) * int(preview.headers["x-height"]) <= 250_000
    bad_key = await client.post(
        "/api/v1/removebg",
        files={"image_file": ("p.jpg", BIG)},
        data={"size": "preview"},
        headers={"X-Api-Key": "co_not-a-key"},
    )
    assert bad_key.status_code == 401  # wrong credentials are not a signed-out visitor


async def test_signed_out_previews_are_limited_per_address(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    upload: dict[str, Any] = {"files": {"image_file": ("p.jpg", BIG)}, "data": {"size": "preview"}}
    answers = [await client.post("/api/v1/removebg", **upload) for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert adapters.remover.calls == 10  # type: ignore[attr-defined]  # the refused one did no work
    key = await api_key(client)
    signed_in = await client.post("/api/v1/removebg", headers={"X-Api-Key": key}, **upload)
    assert signed_in.status_code == 200  # accounts are not counted against the address


async def test_health_and_schema(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"

    async def broken() -> None:
        raise OSError("disk gone")

    adapters.checks["storage"] = broken
    ready = await client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["checks"] == {"storage": "unavailable"}
    schema = (await client.get("/schema/openapi.json")).json()
    for path in ["/api/v1/removebg", "/api/v1/auth/signup", "/api/v1/api-keys", "/api/v1/credits", "/health/ready"]:
        assert path in schema["paths"], path
    body = schema["paths"]["/api/v1/removebg"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json", "application/x-www-form-urlencoded"}
    assert (await client.get("/schema")).status_code == 200


async def test_the_schema_marks_only_signed_in_routes_as_secured(client: AsyncTestClient[Any]) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert paths["/api/v1/me"]["get"]["security"] == [{"apiKey": []}, {"bearer": []}, {"session": []}]
    # signed out, a preview needs no credentials: `{}` marks the security as optional
    assert paths["/api/v1/removebg"]["post"]["security"] == [{"apiKey": []}, {"bearer": []}, {"session": []}, {}]
    assert "security" not in paths["/api/v1/auth/signup"]["post"]
    assert "security" not in paths["/health/live"]["get"]


async def test_the_server_refunds_cut_outs_left_behind_by_a_dead_process(tmp_path: Any) -> None:
    import asyncio

    from api.conftest import fake_adapters, make_settings
    from domain.cutouts import CutoutOptions
    from domain.pricing import SizeChoice
    from entrypoints.bootstrap import wire
    from entrypoints.http.app import create_app
    from entrypoints.worker import Schedule

    adapters = fake_adapters()
    async with AsyncTestClient(create_app(make_settings(tmp_path), adapters, Schedule(reclaim=0.05))) as client:
        key = await api_key(client)
        services = await wire(make_settings(tmp_path), adapters)  # another process's use cases, on the same stores
        user = await services.authenticate.by_api_key(key)
        await services.remove_background._reserve(user, CutoutOptions(size=SizeChoice.FULL), 1)  # then "died"
        assert await balance(client, key) == 2
        adapters.clock.advance(minutes=3)  # type: ignore[attr-defined]
        for _ in range(100):
            if await balance(client, key) == 3:
                break
            await asyncio.sleep(0.02)
        assert await balance(client, key) == 3
        kinds = [e["kind"] for e in (await client.get("/api/v1/credits", headers={"X-Api-Key": key})).json()["entries"]]
        assert kinds == ["refund", "charge", "signup_grant"]
