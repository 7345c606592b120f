"""Hostile and odd uploads, drawn here: each is bytes, made in milliseconds, and small on the wire."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from images import encode, person_scene
from PIL import Image

SIZE = (640, 480)  # 0.31 MP: a full-size cut-out of it costs a credit
BODY = (40, 50, 120)  # the person's body colour in person_scene
BODY_AT = (320, 420)  # a point on the body, in the upright picture


def photo() -> Image.Image:
    return person_scene(*SIZE)[0]


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def decompression_bomb() -> bytes:
    """A 30000 x 30000 PNG (900 MP) of about 100 KB."""
    return encode(Image.new("1", (30000, 30000)), "PNG", optimize=True)


def sixty_megapixels() -> bytes:
    """10000 x 6000: within Pillow's own limit, above ours (50 MP)."""
    return encode(Image.new("1", (10000, 6000)), "PNG", optimize=True)


def cmyk_jpeg() -> bytes:
    return encode(photo().convert("CMYK"), "JPEG", quality=95)


def sixteen_bit_png() -> bytes:
    """Greyscale, 16 bits per sample: 8-bit levels times 257, so the top byte is the 8-bit level."""
    levels = np.asarray(photo().convert("L"), dtype=np.uint16) * 257
    return encode(Image.fromarray(levels), "PNG")


def palette_with_transparency() -> bytes:
    """A palette PNG whose background (index 0) is fully transparent."""
    picture = photo().quantize(colors=16)
    palette_index = np.asarray(picture)
    background = palette_index[5, 5]
    swapped = np.where(palette_index == background, 0, np.where(palette_index == 0, background, palette_index))
    palette = picture.getpalette() or []
    palette[0:3], palette[background * 3 : background * 3 + 3] = (
        palette[background * 3 : background * 3 + 3],
        palette[0:3],
    )
    out = Image.fromarray(swapped.astype(np.uint8), "P")
    out.putpalette(palette)
    return encode(out, "PNG", transparency=0)


def animated(fmt: str) -> bytes:
    """Two frames: the photo, then solid red."""
    frames = [photo(), Image.new("RGB", SIZE, (255, 0, 0))]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated() -> bytes:
    """Stored turned on its side, with EXIF orientation 6 ("rotate 90 degrees clockwise to view")."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(photo().transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif.tobytes())


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><circle r="9"/></svg>'


def png_with_itxt(text: bytes, compressed: bool) -> bytes:
    """The photo as PNG with an international text chunk of ``text`` right after the header."""
    data = encode(photo(), "PNG")
    payload = zlib.compress(text, 9) if compressed else text
    body = b"Comment\0" + bytes([int(compressed), 0]) + b"\0\0" + payload
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    header_end = 8 + 25  # the signature, then IHDR
    return data[:header_end] + chunk + data[header_end:]
