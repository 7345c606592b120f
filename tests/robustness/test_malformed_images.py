"""A corpus of broken, hostile and odd uploads against POST /api/v1/removebg: the real app over HTTP,
real imaging, the real U2-Net-p model and SQLite. Each upload gets the right 4xx with its code, or a
correct cut-out; a refused upload never costs a credit, a delivered one costs exactly one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from io import BytesIO

import httpx
import numpy as np
import pytest
from api.conftest import make_settings
from images import encode, person_scene
from live_accounts import new_api_key
from PIL import Image
from robustness import malformed_images as corpus
from robustness.live_server import serve_in_thread
from robustness.real_app import migrated, real_adapters

from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from adapters.onnx_remover import OnnxRemover
from entrypoints.http.app import create_app

pytestmark = pytest.mark.model

REFUSED: list[tuple[str, Callable[[], bytes], int, str]] = [
    ("empty", lambda: b"", 400, "invalid_image"),
    ("truncated JPEG", lambda: corpus.truncated(encode(corpus.photo())), 400, "invalid_image"),
    ("truncated PNG", lambda: corpus.truncated(encode(corpus.photo(), "PNG")), 400, "invalid_image"),
    ("decompression bomb", corpus.decompression_bomb, 400, "image_too_large"),
    ("60 megapixels", corpus.sixty_megapixels, 400, "image_too_large"),
    ("animated GIF", lambda: corpus.animated("GIF"), 415, "unsupported_format"),
    ("SVG", lambda: corpus.SVG, 415, "unsupported_format"),
    # Pillow refuses a text chunk that inflates past 1 MB: a zip bomb in the metadata.
    (
        "PNG with an iTXt zip bomb",
        lambda: corpus.png_with_itxt(b"\0" * 50_000_000, compressed=True),
        400,
        "invalid_image",
    ),
]

# name, upload, file name sent, the colour expected on the person's body, tolerance per channel
grey_body = round(np.dot((0.299, 0.587, 0.114), corpus.BODY))
DELIVERED: list[tuple[str, Callable[[], bytes], str, tuple[int, int, int], int]] = [
    ("CMYK JPEG", corpus.cmyk_jpeg, "photo.jpg", corpus.BODY, 12),
    ("16-bit greyscale PNG", corpus.sixteen_bit_png, "photo.png", (grey_body,) * 3, 3),
    ("palette PNG with transparency", corpus.palette_with_transparency, "photo.png", corpus.BODY, 12),
    ("animated WebP: its first frame", lambda: corpus.animated("WEBP"), "photo.webp", corpus.BODY, 15),
    ("EXIF orientation 6", corpus.exif_rotated, "photo.jpg", corpus.BODY, 12),
    ("JPEG named .png", lambda: encode(corpus.photo(), quality=95), "photo.png", corpus.BODY, 12),
    (
        "PNG with a 10 MB iTXt chunk",
        lambda: corpus.png_with_itxt(b"a" * 10_000_000, compressed=False),
        "p.png",
        corpus.BODY,
        3,
    ),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp("var")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'cutout.db'}"
    asyncio.run(migrated(database_url))
    cpu = CpuPool()
    remover = OnnxRemover(cpu)
    adapters = real_adapters(database_url, imaging=PillowImaging(cpu), remover=remover)
    app = create_app(make_settings(data_dir, CUTOUT_SIGNUP_CREDITS="100"), adapters)
    with serve_in_thread(app) as base:
        key = new_api_key(base, "corpus@example.com")
        with httpx.Client(base_url=base, timeout=60, headers={"X-Api-Key": key}) as client:
            yield client


def balance(api: httpx.Client) -> int:
    return api.get("/api/v1/me").json()["credits"]


def cut_out(api: httpx.Client, data: bytes, filename: str = "upload.png") -> httpx.Response:
    return api.post("/api/v1/removebg", files={"image_file": (filename, data)}, data={"size": "full"})


@pytest.mark.parametrize(("upload", "status", "code"), [case[1:] for case in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_with_its_code_and_no_credit_lost(
    api: httpx.Client, upload: Callable[[], bytes], status: int, code: str
) -> None:
    before = balance(api)
    response = cut_out(api, upload())
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert balance(api) == before


@pytest.mark.parametrize(
    ("upload", "filename", "body_colour", "tolerance"), [case[1:] for case in DELIVERED], ids=[c[0] for c in DELIVERED]
)
def test_odd_but_valid_uploads_give_a_correct_cut_out(
    api: httpx.Client, upload: Callable[[], bytes], filename: str, body_colour: tuple[int, int, int], tolerance: int
) -> None:
    before = balance(api)
    response = cut_out(api, upload(), filename)
    assert response.status_code == 200, response.text
    assert response.headers["x-credits-charged"] == "1"
    assert balance(api) == before - 1

    result = Image.open(BytesIO(response.content))
    assert (result.format, result.mode, result.size) == ("PNG", "RGBA", corpus.SIZE)  # upright, full size
    pixels = np.asarray(result).astype(int)
    alpha = pixels[..., 3]
    subject = np.asarray(person_scene(*corpus.SIZE)[1]) > 0
    assert alpha[subject].mean() > 180  # the person stays: also where they stand upright, not on their side
    assert alpha[:100, :100].mean() < 40 and alpha[:100, -100:].mean() < 40  # the background is gone
    x, y = corpus.BODY_AT
    assert np.abs(pixels[y, x, :3] - body_colour).max() <= tolerance, pixels[y, x]
