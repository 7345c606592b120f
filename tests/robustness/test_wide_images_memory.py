"""Issue #16, finding 5: a 16-bit greyscale PNG of 49 MP is about 100 KB on the wire, and a signed-out
preview of it must not cost the server more memory than an 8-bit greyscale image of that size (it
cost 800-980 MB when its samples were widened to 8-byte integers). Measured on a real `cutout serve`
(its own process, so that its peak resident memory is the request's alone), from the kernel's count."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import httpx
import numpy as np
import pytest
from e2e.test_server import running, server_env
from images import encode, person_scene
from PIL import Image, ImageDraw

pytestmark = pytest.mark.model

WIDTH, HEIGHT = 8083, 6062  # 49 MP, under the 50 MP limit
MB = 1024 * 1024
# Generous: an 8-bit greyscale picture of this size is 1 byte a pixel; before the fix it was 16 and more.
BOUND_BYTES_PER_PIXEL = 3
# person_scene's body and head colours in grey, and a point on the body (in its 640 x 480 frame)
BODY_GREY, HEAD_GREY = round(np.dot((0.299, 0.587, 0.114), (40, 50, 120))), 160
BODY_AT = (320, 420)


@dataclass(frozen=True)
class LiveServer:
    pid: int
    base: str

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise LookupError(field)

    def rss(self) -> int:
        return self._status("VmRSS")

    def reset_peak(self) -> None:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # the kernel's peak RSS (VmHWM) := current RSS

    def peak(self) -> int:
        return self._status("VmHWM")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`cutout serve` on its defaults (SQLite in a fresh data directory, the real model)."""
    with running(server_env(tmp_path_factory.mktemp("var"))) as (base, pid):
        yield LiveServer(pid, base)


def sixteen_bit_person() -> bytes:
    """The test suite's person scene in 16-bit grey, drawn at 49 MP: each 8-bit level ``v`` becomes
    ``v * 257``, so the high byte is the level and most samples are far above 255."""
    shade = np.linspace(235, 215, HEIGHT).astype(np.uint8)[:, None]
    grey = Image.fromarray(np.ascontiguousarray(np.broadcast_to(shade, (HEIGHT, WIDTH))), "L")
    draw, sx, sy, cx = ImageDraw.Draw(grey), WIDTH / 640, HEIGHT / 480, WIDTH / 2
    draw.ellipse((cx - 120 * sx, 200 * sy, cx + 120 * sx, HEIGHT + 150 * sy), fill=BODY_GREY)
    draw.ellipse((cx - 60 * sx, 70 * sy, cx + 60 * sx, 210 * sy), fill=HEAD_GREY)
    out = BytesIO()
    Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257).save(out, "PNG")
    return out.getvalue()


def signed_out_preview(server: LiveServer, data: bytes) -> httpx.Response:
    files = {"image_file": ("photo.png", data, "image/png")}
    return httpx.post(f"{server.base}/api/v1/removebg", files=files, data={"size": "preview"}, timeout=300)


def test_a_49_mp_16_bit_preview_costs_what_an_8_bit_one_does(server: LiveServer) -> None:
    data = sixteen_bit_person()
    assert len(data) < 200_000 and Image.open(BytesIO(data)).mode == "I;16"
    assert signed_out_preview(server, encode(person_scene()[0])).status_code == 200  # the model and pools warm

    before = server.rss()
    server.reset_peak()
    response = signed_out_preview(server, data)
    growth = server.peak() - before

    assert response.status_code == 200, response.text
    assert response.headers["x-credits-charged"] == "0"
    result = Image.open(BytesIO(response.content)).convert("RGBA")
    assert result.width * result.height <= 250_000
    # Scaled to 8 bits (a level >> 8), not clipped to white: the body keeps its grey, and stays.
    x, y = round(result.width * BODY_AT[0] / 640), round(result.height * BODY_AT[1] / 480)
    body = np.asarray(result)[y, x]
    assert body[3] > 180 and np.abs(body[:3].astype(int) - BODY_GREY).max() <= 3, body
    assert growth < BOUND_BYTES_PER_PIXEL * WIDTH * HEIGHT, f"peak RSS grew {growth / MB:.0f} MB"
