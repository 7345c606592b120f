"""The composed image as bytes: PNG, JPG, WebP, a ZIP of ``color.jpg`` and ``alpha.png``, or the one ``auto`` picks."""

from __future__ import annotations

import struct
import zipfile
import zlib
from io import BytesIO
from typing import Any

import cv2
import numpy as np
from PIL import Image

from domain.cutouts import OutputFormat

PNG_COMPRESS_LEVEL = 1
JPEG_QUALITY = 90
WEBP_QUALITY = 90


def resolve_auto(image: Image.Image) -> OutputFormat:
    """remove.bg's ``auto``: PNG when any pixel is transparent (or for a mask), else JPG."""
    if image.mode == "RGB":
        return OutputFormat.JPG
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
        return OutputFormat.JPG
    return OutputFormat.PNG


def encode(image: Image.Image, fmt: OutputFormat, icc_profile: bytes | None) -> bytes:
    """``image`` is RGB, RGBA or (a mask) L. JPG drops alpha, so it is only asked for opaque images."""
    extra: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile and image.mode != "L" else {}
    buffer = BytesIO()
    if fmt is OutputFormat.PNG:
        if image.mode in ("RGB", "RGBA"):
            return _png(image, icc_profile)
        image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL, **extra)
    elif fmt is OutputFormat.JPG:
        (image if image.mode in ("RGB", "L") else image.convert("RGB")).save(
            buffer, "JPEG", quality=JPEG_QUALITY, **extra
        )
    elif fmt is OutputFormat.WEBP:
        (image if image.mode != "L" else image.convert("RGB")).save(
            buffer, "WEBP", quality=WEBP_QUALITY, lossless=False, **extra
        )
    else:
        return _zip(image, icc_profile)
    return buffer.getvalue()


def _zip(image: Image.Image, icc_profile: bytes | None) -> bytes:
    """remove.bg's layout: the colours as ``color.jpg`` and the alpha matte as ``alpha.png``."""
    alpha = image.getchannel("A") if image.mode == "RGBA" else Image.new("L", image.size, 255)
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # JPEG and PNG are compressed already
        archive.writestr("color.jpg", encode(image.convert("RGB"), OutputFormat.JPG, icc_profile))
        archive.writestr("alpha.png", encode(alpha, OutputFormat.PNG, None))
    return buffer.getvalue()


def _png(image: Image.Image, icc_profile: bytes | None) -> bytes:
    """PNG of an RGB or RGBA image through OpenCV's libpng with the Up filter alone: for the same size,
    about 40 % less CPU than Pillow, which tries five filters on every row (12 MP: 455 vs 739 ms).
    OpenCV writes no colour profile, so a source's profile goes in as an iCCP chunk after IHDR."""
    if image.mode == "RGBA":
        pixels = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGBA2BGRA)
        # A fully transparent pixel shows no colour: black it out, as rembg does. Removed backgrounds
        # then cost next to nothing to store or to compress. (A new dst is zeroed where the mask is 0.)
        pixels = cv2.bitwise_and(pixels, pixels, mask=np.ascontiguousarray(pixels[..., 3]))
    else:
        pixels = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)
    options = [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESS_LEVEL, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
    ok, encoded = cv2.imencode(".png", pixels, options)
    if not ok:
        raise RuntimeError("OpenCV could not encode the PNG")
    data = encoded.tobytes()
    if not icc_profile:
        return data
    body = b"ICC Profile\0\0" + zlib.compress(icc_profile)
    chunk = struct.pack(">I", len(body)) + b"iCCP" + body + struct.pack(">I", zlib.crc32(b"iCCP" + body))
    header_end = 8 + 25  # the signature, then IHDR, which libpng always writes first
    return data[:header_end] + chunk + data[header_end:]
