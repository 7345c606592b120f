"""What a cut-out costs and what size it comes out at."""

from __future__ import annotations

import enum
import math

PREVIEW_MAX_PIXELS = 250_000
MAX_INPUT_PIXELS = 50_000_000


class SizeChoice(enum.StrEnum):
    PREVIEW = "preview"
    FULL = "full"
    AUTO = "auto"


def price(output_pixels: int) -> int:
    """A result of at most 0.25 MP is free (a preview); any larger result costs one credit."""
    return 0 if output_pixels <= PREVIEW_MAX_PIXELS else 1


def fit_within(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size with the same aspect ratio and at most ``max_pixels`` pixels."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    w, h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    while w * h > max_pixels:  # floor rounding can still leave one row too many
        h -= 1
    return w, h


def output_size(width: int, height: int, size: SizeChoice, balance: int) -> tuple[int, int]:
    """Full keeps the input size; preview fits 0.25 MP; auto is full when the balance pays for it."""
    full = (width, height)
    preview = fit_within(width, height, PREVIEW_MAX_PIXELS)
    if size is SizeChoice.FULL:
        return full
    if size is SizeChoice.PREVIEW:
        return preview
    return full if balance >= price(width * height) else preview
