"""What a cut-out costs and what size it comes out at."""

from __future__ import annotations

import enum
import math

from domain.errors import InvalidOption

PREVIEW_MAX_PIXELS = 250_000
MAX_INPUT_PIXELS = 50_000_000


class SizeChoice(enum.StrEnum):
    """remove.bg's ``size`` values; each caps the result's pixel count (``auto`` decides by the balance)."""

    PREVIEW = "preview"
    MEDIUM = "medium"
    HD = "hd"
    FULL = "full"
    MP50 = "50mp"
    AUTO = "auto"

    @classmethod
    def parse(cls, text: str) -> SizeChoice:
        """Any of remove.bg's names, aliases included (``small``/``regular`` = preview, ``4k`` = full)."""
        name = str(text).strip().lower()
        try:
            return cls(_SIZE_ALIASES.get(name, name))
        except ValueError:
            raise InvalidOption(
                f"size {text!r} is not one of preview, small, regular, medium, hd, full, 4k, 50MP or auto.",
                field="size",
            ) from None

    @property
    def max_pixels(self) -> int:
        return _MAX_PIXELS[self]


_SIZE_ALIASES = {"small": "preview", "regular": "preview", "4k": "full"}
_MAX_PIXELS = {
    SizeChoice.PREVIEW: PREVIEW_MAX_PIXELS,
    SizeChoice.MEDIUM: 1_500_000,
    SizeChoice.HD: 4_000_000,
    SizeChoice.FULL: 25_000_000,
    SizeChoice.MP50: MAX_INPUT_PIXELS,
    SizeChoice.AUTO: 25_000_000,  # remove.bg: the highest resolution the credits pay for, up to 25 MP
}


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


def chosen_size(width: int, height: int, size: SizeChoice, balance: int) -> SizeChoice:
    """The size ``size`` stands for: itself, or for ``auto`` full when the balance pays for it, else preview."""
    if size is not SizeChoice.AUTO:
        return size
    full = fit_within(width, height, SizeChoice.FULL.max_pixels)
    return SizeChoice.FULL if balance >= price(full[0] * full[1]) else SizeChoice.PREVIEW


def output_size(width: int, height: int, size: SizeChoice, balance: int) -> tuple[int, int]:
    """The input size, shrunk to fit the pixel cap of the size chosen (``chosen_size``)."""
    return fit_within(width, height, chosen_size(width, height, size, balance).max_pixels)
