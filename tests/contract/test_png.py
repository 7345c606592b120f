"""Our PNG writer, read back by Pillow (which checks every chunk's CRC) and by zlib."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from adapters.rendering.png import png_bytes


def _random_image(mode: str, size: tuple[int, int], seed: int = 1) -> Image.Image:
    bands = len(mode)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if bands == 1 else pixels, mode)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body)
        found.append((kind, body))
        at += 12 + length
    return found


@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.parametrize("size", [(1, 1), (1, 7), (7, 1), (33, 17), (640, 480)])
def test_l_and_rgb_come_back_exactly(mode: str, size: tuple[int, int]) -> None:
    image = _random_image(mode, size)
    with Image.open(io.BytesIO(png_bytes(image))) as back:
        assert back.mode == mode and back.size == size
        assert np.array_equal(np.asarray(back), np.asarray(image))


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (641, 479)])
def test_rgba_comes_back_with_invisible_pixels_black(size: tuple[int, int]) -> None:
    image = _random_image("RGBA", size)
    pixels = np.array(image)
    pixels[::3, ::2, 3] = 0  # some fully transparent pixels, with colour in them
    image = Image.fromarray(pixels, "RGBA")
    with Image.open(io.BytesIO(png_bytes(image))) as back:
        got = np.asarray(back)
    invisible = pixels[..., 3] == 0
    assert np.all(got[invisible] == 0)
    assert np.array_equal(got[~invisible], pixels[~invisible])


def test_the_layout_is_ihdr_iccp_idat_iend_and_the_rows_use_the_up_filter() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = _random_image("RGB", (9, 4))
    chunks = _chunks(png_bytes(image, profile))
    assert [kind for kind, _ in chunks] == [b"IHDR", b"iCCP", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBBBBB", chunks[0][1]) == (9, 4, 8, 2, 0, 0, 0)
    scanlines = zlib.decompress(chunks[2][1])
    assert len(scanlines) == 4 * (1 + 9 * 3) and scanlines[:: 1 + 9 * 3] == b"\x02" * 4
    with Image.open(io.BytesIO(png_bytes(image, profile))) as back:
        assert back.info["icc_profile"] == profile


def test_a_mask_gets_no_colour_profile() -> None:
    chunks = _chunks(png_bytes(_random_image("L", (4, 4)), b"not used for a mask"))
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]


def test_a_large_empty_background_compresses_to_almost_nothing() -> None:
    pixels = np.zeros((3000, 4000, 4), np.uint8)
    pixels[..., :3] = 200  # a colour that only transparent pixels carry
    pixels[1000:2000, 1500:2500] = 255  # an opaque white square
    assert len(png_bytes(Image.fromarray(pixels, "RGBA"))) < 200_000
