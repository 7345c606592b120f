"""remove.bg's API v1.0 through the app: the real Pillow imaging adapter on drawn pictures, a drawn
mask (an ellipse in the middle half) instead of the model, fakes for everything else."""

from __future__ import annotations

import base64
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import CentreMaskRemover, FakeFetcher, FakeRemover
from images import encode, person_scene
from litestar.testing import AsyncTestClient
from PIL import Image

from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from api.conftest import api_key, fake_adapters, make_settings
from domain.errors import UrlFetchFailed
from entrypoints.bootstrap import Adapters
from entrypoints.http.app import create_app

PHOTO = encode(person_scene(800, 600)[0], quality=90)  # 0.48 MP: 1 credit at full size
SMALL = encode(person_scene(400, 300)[0], quality=90)  # 0.12 MP: always free


class EmptyMaskRemover(FakeRemover):
    async def mask(self, picture: Any) -> Any:
        await super().mask(picture)
        return Image.new("L", (picture.width, picture.height), 0)


class FailingFetcher(FakeFetcher):
    async def fetch(self, url: str, max_bytes: int) -> bytes:
        if url.startswith("https://down.example/"):
            raise UrlFetchFailed(url=url, status=404)
        return await super().fetch(url, max_bytes)


@pytest.fixture
def adapters() -> Adapters:
    return fake_adapters(imaging=PillowImaging(CpuPool()), remover=CentreMaskRemover(), fetcher=FailingFetcher())


async def account(client: AsyncTestClient[Any], key: str) -> dict[str, Any]:
    response = await client.get("/v1.0/account", headers={"X-Api-Key": key})
    assert response.status_code == 200, response.text
    return response.json()["data"]["attributes"]


def the_error(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1
    [error] = body["errors"]
    assert set(error) == {"title", "code", "detail"} and all(isinstance(v, str) and v for v in error.values())
    return error


# -- auth and account -----------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "title"), [({}, "Missing API Key"), ({"X-Api-Key": "co_nope"}, "Invalid API Key")])
async def test_a_missing_or_wrong_key_is_403(client: AsyncTestClient[Any], headers: dict[str, str], title: str) -> None:
    for response in (
        await client.post("/v1.0/removebg", files={"image_file": ("p.jpg", SMALL)}, headers=headers),
        await client.get("/v1.0/account", headers=headers),
    ):
        assert response.status_code == 403
        error = the_error(response)
        assert (error["code"], error["title"]) == ("auth_failed", title)


async def test_a_session_cookie_is_no_key_here(client: AsyncTestClient[Any]) -> None:
    from api.conftest import sign_up

    await sign_up(client)
    response = await client.get("/v1.0/account")
    assert response.status_code == 403 and the_error(response)["code"] == "auth_failed"


async def test_the_account_in_remove_bg_shape(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    assert await account(client, key) == {
        "credits": {"total": 3, "subscription": 0, "payg": 3, "enterprise": 0},
        "api": {"free_calls": 500, "sizes": "all"},
    }


# -- cut-outs -------------------------------------------------------------------------------------


async def test_the_default_is_a_free_preview_as_png(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    response = await client.post(
        "/v1.0/removebg", files={"image_file": ("photo.jpg", PHOTO, "image/jpeg")}, headers={"X-Api-Key": key}
    )
    assert response.status_code == 200, response.text
    headers = response.headers
    assert headers["content-type"] == "image/png"  # format=auto, and there is transparency
    assert headers["x-credits-charged"] == "0" and headers["x-type"] == "other"
    width, height = int(headers["x-width"]), int(headers["x-height"])
    assert width * height <= 250_000 and (width, height) == Image.open(BytesIO(response.content)).size
    # The drawn mask is the ellipse in the middle half of the picture.
    box = [int(headers[f"x-foreground-{side}"]) for side in ("left", "top", "width", "height")]
    assert abs(box[0] - width / 4) <= 2 and abs(box[1] - height / 4) <= 2
    assert abs(box[2] - width / 2) <= 2 and abs(box[3] - height / 2) <= 2
    assert (headers["x-ratelimit-limit"], headers["x-ratelimit-remaining"]) == ("500", "499")
    assert int(headers["x-ratelimit-reset"]) > 1_700_000_000
    assert (await account(client, key))["credits"]["total"] == 3


async def test_full_size_costs_a_credit(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    response = await client.post(
        "/v1.0/removebg",
        data={"size": "full", "format": "jpg"},
        files={"image_file": ("p.jpg", PHOTO)},
        headers={"X-Api-Key": key},
    )
    assert response.status_code == 200
    assert response.headers["x-credits-charged"] == "1" and response.headers["content-type"] == "image/jpeg"
    assert Image.open(BytesIO(response.content)).size == (800, 600)
    assert (await account(client, key))["credits"]["total"] == 2


async def test_the_json_answer(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    response = await client.post(
        "/v1.0/removebg",
        json={"image_file_b64": base64.b64encode(SMALL).decode(), "crop": True},
        headers={"X-Api-Key": key, "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"result_b64", "foreground_top", "foreground_left", "foreground_width", "foreground_height"}
    result = Image.open(BytesIO(base64.b64decode(data["result_b64"])))
    # Cropped to the drawn ellipse (100, 75)-(300, 225): Pillow draws both end points.
    assert result.size == (data["foreground_width"], data["foreground_height"]) == (201, 151)
    assert (data["foreground_top"], data["foreground_left"]) == (0, 0)
    assert response.headers["x-foreground-width"] == "201"


@pytest.mark.parametrize(
    ("fields", "reported"),
    [
        ({"type": "person"}, "person"),
        ({"type": "graphic", "type_level": "2"}, "graphics"),
        ({"type_level": "none"}, None),
    ],
)
async def test_x_type_echoes_the_type(
    client: AsyncTestClient[Any], fields: dict[str, str], reported: str | None
) -> None:
    key = await api_key(client)
    response = await client.post(
        "/v1.0/removebg", data=fields, files={"image_file": ("p.jpg", SMALL)}, headers={"X-Api-Key": key}
    )
    assert response.status_code == 200
    assert response.headers.get("x-type") == reported


async def test_zip_and_alpha(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    zipped = await client.post(
        "/v1.0/removebg", data={"format": "zip"}, files={"image_file": ("p.jpg", SMALL)}, headers={"X-Api-Key": key}
    )
    assert zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(BytesIO(zipped.content)) as archive:
        assert sorted(archive.namelist()) == ["alpha.png", "color.jpg"]
        matte = Image.open(BytesIO(archive.read("alpha.png")))
    alpha = await client.post(
        "/v1.0/removebg", data={"channels": "alpha"}, files={"image_file": ("p.jpg", SMALL)}, headers={"X-Api-Key": key}
    )
    mask = Image.open(BytesIO(alpha.content))
    assert mask.mode == "L" and np.array_equal(np.asarray(mask), np.asarray(matte))
    assert mask.getpixel((200, 150)) == 255 and mask.getpixel((5, 5)) == 0


FIELDS = {
    "size": "full",
    "format": "png",
    "crop": "true",
    "crop_margin": "10%",
    "scale": "80%",
    "position": "center",
    "bg_color": "81d4fa",
    "semitransparency": "false",
    "add_shadow": "true",
    "shadow_opacity": "60",
    "roi": "0% 0% 100% 100%",
}


async def test_multipart_json_and_urlencoded_give_the_same_image(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    headers = {"X-Api-Key": key}
    b64 = base64.b64encode(SMALL).decode()
    native_json = {**FIELDS, "crop": True, "semitransparency": False, "add_shadow": True, "shadow_opacity": 60}
    answers = [
        await client.post("/v1.0/removebg", data=FIELDS, files={"image_file": ("p.jpg", SMALL)}, headers=headers),
        await client.post("/v1.0/removebg", json={**native_json, "image_file_b64": b64}, headers=headers),
        await client.post("/v1.0/removebg", json={**FIELDS, "image_file_b64": b64}, headers=headers),  # "true" strings
        await client.post("/v1.0/removebg", data={**FIELDS, "image_file_b64": b64}, headers=headers),
        await client.post("/api/v1/removebg", data=FIELDS, files={"image_file": ("p.jpg", SMALL)}, headers=headers),
    ]
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    assert len({a.headers["x-foreground-left"] + a.headers["x-width"] for a in answers}) == 1
    image = Image.open(BytesIO(answers[0].content))
    assert image.mode == "RGB"  # an opaque background
    assert image.getpixel((1, 1)) == (0x81, 0xD4, 0xFA)


async def test_a_background_image_by_file_and_by_url(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    key = await api_key(client)
    beach = encode(Image.new("RGB", (40, 30), (250, 200, 0)), "PNG")
    adapters.fetcher.pages["https://images.example/beach.png"] = beach  # type: ignore[attr-defined]
    by_file = await client.post(
        "/v1.0/removebg",
        files={"image_file": ("p.jpg", SMALL), "bg_image_file": ("b.png", beach)},
        headers={"X-Api-Key": key},
    )
    by_url = await client.post(
        "/v1.0/removebg",
        json={"image_file_b64": base64.b64encode(SMALL).decode(), "bg_image_url": "https://images.example/beach.png"},
        headers={"X-Api-Key": key},
    )
    assert by_file.status_code == by_url.status_code == 200
    assert by_file.content == by_url.content
    image = Image.open(BytesIO(by_file.content))
    assert image.format == "JPEG"  # auto: nothing is transparent any more
    pixel = image.getpixel((3, 3))
    assert isinstance(pixel, tuple)
    assert max(abs(a - b) for a, b in zip(pixel, (250, 200, 0), strict=True)) <= 8


# -- errors ---------------------------------------------------------------------------------------


def bomb() -> bytes:
    return encode(Image.new("1", (10_000, 6_000)), "PNG", optimize=True)


ERRORS = [
    ({"data": {"size": "full"}}, 400, "missing_source"),
    (
        {"files": {"image_file": ("p.jpg", SMALL)}, "data": {"image_url": "https://x.example/a.jpg"}},
        400,
        "multiple_sources",
    ),
    ({"files": {"image_file": ("big.jpg", b"\0" * 25_000_001)}}, 400, "file_too_large"),
    ({"files": {"image_file": ("bomb.png", bomb())}}, 400, "resolution_too_high"),
    ({"files": {"image_file": ("p.txt", b"just some text")}}, 400, "failed_to_read_image"),
    ({"files": {"image_file": ("p.gif", encode(Image.new("RGB", (8, 8)), "GIF"))}}, 400, "invalid_file_type"),
    ({"json": {"image_url": "http://169.254.169.254/latest"}}, 400, "invalid_image_url"),
    ({"json": {"image_url": "https://down.example/a.jpg"}}, 400, "failed_image_download"),
    (
        {"files": {"image_file": ("p.jpg", SMALL)}, "data": {"bg_image_url": "http://10.0.0.1/b.jpg"}},
        400,
        "invalid_bg_image_url",
    ),
    (
        {"files": {"image_file": ("p.jpg", SMALL)}, "data": {"bg_image_url": "https://down.example/b.jpg"}},
        400,
        "failed_bg_download",
    ),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"bg_color": "nosuchcolour"}}, 400, "invalid_bg_color"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"size": "huge"}}, 400, "invalid_size"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"format": "gif"}}, 400, "invalid_format"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"channels": "rgb"}}, 400, "invalid_channels"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"crop_margin": "90%"}}, 400, "invalid_crop_margin"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"scale": "200%"}}, 400, "invalid_scale"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"position": "left"}}, 400, "invalid_position"),
    (
        {"files": {"image_file": ("p.jpg", SMALL)}, "data": {"semitransparency": "maybe"}},
        400,
        "invalid_semitransparency",
    ),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"roi": "1 2 3"}}, 400, "invalid_roi"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"roi": "0 0 401px 10px"}}, 400, "roi_exceeds_bounds"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"roi": "10px 10px 10px 20px"}}, 400, "roi_region_empty"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"shadow_type": "soft"}}, 400, "invalid_shadow_type"),
    ({"files": {"image_file": ("p.jpg", SMALL)}, "data": {"type": "plant"}}, 400, "invalid_type"),
    (
        {"files": {"image_file": ("p.jpg", SMALL), "bg_image_file": ("b.jpg", SMALL)}, "data": {"bg_color": "red"}},
        400,
        "multiple_bg_sources",
    ),
    ({"content": b"raw", "headers": {"content-type": "text/plain"}}, 400, "unsupported_media_type"),
]


@pytest.mark.parametrize(("kwargs", "status", "code"), ERRORS, ids=[code for _, _, code in ERRORS])
async def test_errors_have_remove_bg_codes_and_cost_nothing(
    client: AsyncTestClient[Any], kwargs: dict[str, Any], status: int, code: str
) -> None:
    key = await api_key(client)
    headers = {"X-Api-Key": key, **kwargs.pop("headers", {})}
    if "json" not in kwargs:
        kwargs = {"data": {"size": "full"}, **kwargs}
    response = await client.post("/v1.0/removebg", headers=headers, **kwargs)
    assert (response.status_code, the_error(response)["code"]) == (status, code), response.text
    assert response.headers["x-ratelimit-limit"] == "500"  # counted, and said so on errors too
    assert (await account(client, key))["credits"]["total"] == 3


async def test_no_subject_is_unknown_foreground_and_refunded(tmp_path: Path) -> None:
    adapters = fake_adapters(imaging=PillowImaging(CpuPool()), remover=EmptyMaskRemover())
    async with AsyncTestClient(create_app(make_settings(tmp_path), adapters)) as client:
        key = await api_key(client)
        response = await client.post(
            "/v1.0/removebg", data={"size": "full"}, files={"image_file": ("p.jpg", PHOTO)}, headers={"X-Api-Key": key}
        )
        assert response.status_code == 400
        assert the_error(response)["code"] == "unknown_foreground"
        assert adapters.remover.calls == 1  # type: ignore[attr-defined]
        assert (await account(client, key))["credits"]["total"] == 3
        kinds = [e["kind"] for e in (await client.get("/api/v1/credits", headers={"X-Api-Key": key})).json()["entries"]]
        assert kinds == ["refund", "charge", "signup_grant"]


async def test_insufficient_credits_is_402(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    for _ in range(3):
        ok = await client.post(
            "/v1.0/removebg", data={"size": "full"}, files={"image_file": ("p.jpg", PHOTO)}, headers={"X-Api-Key": key}
        )
        assert ok.headers["x-credits-charged"] == "1"
    response = await client.post(
        "/v1.0/removebg", data={"size": "full"}, files={"image_file": ("p.jpg", PHOTO)}, headers={"X-Api-Key": key}
    )
    assert response.status_code == 402
    assert the_error(response) == {
        "title": "Insufficient credits",
        "code": "insufficient_credits",
        "detail": "Not enough credits for this request.",
    }
    preview = await client.post("/v1.0/removebg", files={"image_file": ("p.jpg", PHOTO)}, headers={"X-Api-Key": key})
    assert preview.status_code == 200 and preview.headers["x-credits-charged"] == "0"


async def test_the_routes_are_in_the_openapi_document(client: AsyncTestClient[Any]) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert paths["/v1.0/removebg"]["post"]["security"] == [{"apiKey": []}]
    assert "/v1.0/account" in paths
    body = paths["/v1.0/removebg"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"roi", "scale", "position", "channels", "shadow_type", "bg_image_file", "type_level"} <= set(body)
