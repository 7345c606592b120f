"""The composed image as bytes: PNG, JPG, WebP, a ZIP of ``color.jpg`` and ``alpha.png``, or the one ``auto`` picks."""

from __future__ import annotations

import zipfile
from io import BytesIO
from typing import Any

from PIL import Image

from adapters.rendering.png import png_bytes
from domain.cutouts import OutputFormat

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
    if fmt is OutputFormat.PNG:
        return png_bytes(image, icc_profile)
    if fmt is OutputFormat.ZIP:
        return _zip(image, icc_profile)
    extra: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile and image.mode != "L" else {}
    buffer = BytesIO()
    if fmt is OutputFormat.JPG:
        (image if image.mode in ("RGB", "L") else image.convert("RGB")).save(
            buffer, "JPEG", quality=JPEG_QUALITY, **extra
        )
    else:
        (image if image.mode != "L" else image.convert("RGB")).save(
            buffer, "WEBP", quality=WEBP_QUALITY, lossless=False, **extra
        )
    return buffer.getvalue()


def _zip(image: Image.Image, icc_profile: bytes | None) -> bytes:
    """remove.bg's layout: the colours as ``color.jpg`` and the alpha matte as ``alpha.png``."""
    alpha = image.getchannel("A") if image.mode == "RGBA" else Image.new("L", image.size, 255)
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # JPEG and PNG are compressed already
        archive.writestr("color.jpg", encode(image.convert("RGB"), OutputFormat.JPG, icc_profile))
        archive.writestr("alpha.png", encode(alpha, OutputFormat.PNG, None))
    return buffer.getvalue()
