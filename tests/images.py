"""Test images drawn here: nothing is downloaded."""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image, ImageDraw


def person_scene(width: int = 640, height: int = 480) -> tuple[Image.Image, Image.Image]:
    """A light, slightly graded background with a dark "person" (head and body) in the middle,
    which U2-Net-p cuts out with a wide margin; and the true subject region ("L", 255 = subject)."""
    shade = np.linspace(235, 215, height)[:, None] * np.ones((1, width))
    picture = Image.fromarray(np.stack([shade, shade, shade + 5], -1).clip(0, 255).astype(np.uint8), "RGB")
    subject = Image.new("L", (width, height), 0)
    sx, sy, cx = width / 640, height / 480, width / 2
    for canvas, body, head in (
        (ImageDraw.Draw(picture), (40, 50, 120), (200, 150, 120)),
        (ImageDraw.Draw(subject), 255, 255),
    ):
        canvas.ellipse((cx - 120 * sx, 200 * sy, cx + 120 * sx, height + 150 * sy), fill=body)
        canvas.ellipse((cx - 60 * sx, 70 * sy, cx + 60 * sx, 210 * sy), fill=head)
    return picture, subject


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()
