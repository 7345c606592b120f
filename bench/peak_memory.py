"""Peak memory per request by kind of image: 49 MP uploads of 8 and 16 bits per sample, greyscale,
RGB, RGBA and CMYK, each sent as a preview to a fresh `cutout serve`, one request at a time, while the
server's RSS is sampled. A fresh server per kind, since memory one request freed stays with the process
(glibc keeps up to 256 MB, see entrypoints/allocator.py) and the next request would reuse it unseen."""

from __future__ import annotations

import dataclasses
import functools
import struct
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.load import upload_batch
from bench.photos import photo_jpeg, size_for
from bench.processes import PeakRss, tree_rss
from bench.servers import Server, cutout

MB = 1024 * 1024
MEGAPIXELS = 49  # under the 50 MP limit


def _silhouette(width: int, height: int) -> np.ndarray:
    """Where person_scene's person (head and body) stands, drawn at this size: the model needs a subject."""
    mask = Image.new("1", (width, height), 0)
    draw, sx, sy, cx = ImageDraw.Draw(mask), width / 640, height / 480, width / 2
    draw.ellipse((cx - 120 * sx, 200 * sy, cx + 120 * sx, height + 150 * sy), fill=1)
    draw.ellipse((cx - 60 * sx, 70 * sy, cx + 60 * sx, 210 * sy), fill=1)
    return np.asarray(mask)


def _scene(width: int, height: int, bits: int, channels: int) -> np.ndarray:
    """A dark person on smooth, light ramps (one along x, one along y, their mean, and an alpha from
    half to fully opaque): every sample's low byte varies, yet the PNG stays small."""
    top = (1 << bits) - 1
    dtype = np.uint16 if bits == 16 else np.uint8
    along_x = (top // 2 + np.arange(width, dtype=np.uint32) * (top // 2) // max(width - 1, 1)).astype(dtype)
    along_y = (top // 2 + np.arange(height, dtype=np.uint32) * (top // 2) // max(height - 1, 1)).astype(dtype)
    planes = [
        np.broadcast_to(along_x, (height, width)),
        np.broadcast_to(along_y[:, None], (height, width)),
        np.broadcast_to(((along_x.astype(np.uint32)[None, :] + along_y[:, None]) // 2).astype(dtype), (height, width)),
        np.broadcast_to(along_x, (height, width)),
    ]
    pixels = np.stack(planes[:channels], axis=-1) if channels > 1 else planes[0].copy()
    person = _silhouette(width, height)
    pixels[person] = top // 5 if channels < 4 else (*(top // 5,) * 3, top)
    return pixels


def _png(bits: int, mode: str) -> bytes:
    """A PNG of ``bits`` per sample. Pillow writes 16-bit PNGs for greyscale only ("I;16"); the 16-bit
    RGB and RGBA files are written by ``_png16``."""
    width, height = size_for(MEGAPIXELS)
    pixels = _scene(width, height, bits, {"L": 1, "RGB": 3, "RGBA": 4}[mode])
    if bits == 16 and mode != "L":
        return _png16(pixels, {"RGB": 2, "RGBA": 6}[mode])
    out = BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode if bits == 8 else None).save(out, "PNG")
    return out.getvalue()


def _png16(pixels: np.ndarray, colour_type: int) -> bytes:
    """IHDR, one IDAT and IEND around ``pixels``' rows as big-endian 16-bit samples."""
    height, width = pixels.shape[:2]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    big_endian = pixels.astype(">u2").reshape(height, -1).view(np.uint8)
    # Filter "Up" (2) on every row but the first: the vertical ramp then differs by a constant.
    rows = np.empty((height, 1 + big_endian.shape[1]), dtype=np.uint8)
    rows[:, 0] = 2
    rows[0, 0] = 0
    rows[0, 1:] = big_endian[0]
    rows[1:, 1:] = big_endian[1:] - big_endian[:-1]
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    idat = zlib.compress(rows.tobytes(), 6)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _cmyk_jpeg() -> bytes:
    width, height = size_for(MEGAPIXELS)
    out = BytesIO()
    Image.fromarray(_scene(width, height, 8, 3), "RGB").convert("CMYK").save(out, "JPEG", quality=90)
    return out.getvalue()


@functools.cache
def _photo() -> bytes:
    return photo_jpeg(MEGAPIXELS)


def _jpeg(mode: str) -> bytes:
    data = _photo()
    if mode == "RGB":
        return data
    out = BytesIO()
    Image.open(BytesIO(data)).convert(mode).save(out, "JPEG", quality=90)
    return out.getvalue()


KINDS: dict[str, Callable[[], bytes]] = {
    "PNG L 8-bit": lambda: _png(8, "L"),
    "PNG L 16-bit": lambda: _png(16, "L"),
    "PNG RGB 8-bit": lambda: _png(8, "RGB"),
    "PNG RGB 16-bit": lambda: _png(16, "RGB"),
    "PNG RGBA 8-bit": lambda: _png(8, "RGBA"),
    "PNG RGBA 16-bit": lambda: _png(16, "RGBA"),
    "JPEG L": lambda: _jpeg("L"),
    "JPEG RGB": lambda: _jpeg("RGB"),
    "JPEG CMYK": _cmyk_jpeg,
}


async def _one_kind(server: Server, image: bytes, requests: int) -> dict[str, float]:
    """``requests`` previews of ``image`` one after another, after a 1 MP warm-up preview."""
    preview = dataclasses.replace(server, form={"size": "preview"})
    await upload_batch(preview, photo_jpeg(1), 1, 1)  # the first request's one-off costs are not the image's
    before = tree_rss(server.pid)
    growths = []
    for _ in range(requests):
        with PeakRss(server.pid) as rss:
            await upload_batch(preview, image, 1, 1)
        growths.append(rss.peak - before)
    return {
        "upload_kb": len(image) / 1024,
        "rss_before_mb": before / MB,
        "peak_growth_mb_first": growths[0] / MB,
        "peak_growth_mb_max": max(growths) / MB,
        "rss_after_mb": tree_rss(server.pid) / MB,
        "requests": requests,
    }


async def peak_per_request(log_dir: Path, requests: int, kinds: list[str] | None = None) -> dict[str, object]:
    """For each kind of image (all of ``KINDS`` by default), a fresh server's peak RSS growth over its
    RSS before the first upload, and its RSS after ``requests`` of them."""
    width, height = size_for(MEGAPIXELS)
    per_kind: dict[str, object] = {}
    for name in kinds or list(KINDS):
        image = KINDS[name]()
        print(f"  {name}: {len(image) / 1024:.0f} KB", flush=True)
        with cutout(log_dir) as server:
            per_kind[name] = await _one_kind(server, image, requests)
    return {"width": width, "height": height, "kind": "preview, one request at a time", "per_kind": per_kind}
