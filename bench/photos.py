"""Benchmark photos, drawn here: the test suite's person scene with camera-like texture, so JPEG
decode and PNG encode cost what they cost on real photos (a flat drawing compresses to nothing)."""

from __future__ import annotations

import math
import sys
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from images import person_scene  # noqa: E402 - the drawing the tests already use

ASPECT = 4 / 3


def size_for(megapixels: float) -> tuple[int, int]:
    height = round(math.sqrt(megapixels * 1e6 / ASPECT))
    return round(height * ASPECT), height


def photo_jpeg(megapixels: float, seed: int = 7) -> bytes:
    """A 4:3 JPEG (quality 90) of about ``megapixels``, with sensor-like noise over the scene."""
    width, height = size_for(megapixels)
    scene, _ = person_scene(width, height)
    noise = np.random.default_rng(seed).normal(0, 6, (height, width, 1)).astype(np.float32)
    pixels = np.asarray(scene, dtype=np.float32) + noise
    out = BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()
