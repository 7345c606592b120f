"""What the cut-out is laid on: nothing (transparency), a colour, or an image."""

from __future__ import annotations

import re
from collections.abc import Callable

from PIL import Image, ImageColor, ImageOps

from domain.errors import InvalidOption

WHITE = (255, 255, 255)

_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_NAMED_COLOR = re.compile(r"^[a-zA-Z]+$")

BackgroundImage = Callable[[tuple[int, int]], Image.Image]
"""Gives the background image decoded (RGB) to cover at least the size asked for."""


def parse_color(text: str) -> tuple[int, int, int, int]:
    """``bg_color`` as RGBA: hex with 3, 4, 6 or 8 digits (``#`` optional) or a CSS colour name."""
    value = text.strip()
    if _HEX_COLOR.match(value):
        value = "#" + value.lstrip("#")
    elif not _NAMED_COLOR.match(value):
        raise InvalidOption(f"{text!r} is not a colour like 81d4fa or red.", field="bg_color")
    try:
        color = ImageColor.getrgb(value.lower())
    except ValueError:
        raise InvalidOption(f"{text!r} is not a colour like 81d4fa or red.", field="bg_color") from None
    return (*color[:3], color[3] if len(color) == 4 else 255)


def lay(
    source: Image.Image,
    alpha: Image.Image,
    color: tuple[int, int, int, int] | None,
    image: BackgroundImage | None,
    opaque: bool,
) -> Image.Image:
    """``source`` (RGB or RGBA) shown through ``alpha`` over the background.

    An opaque result (a background image, an opaque colour, or ``opaque`` asked for by a format without
    alpha) is RGB; anything else is RGBA."""
    if image is not None:
        canvas = ImageOps.fit(image(source.size), source.size, Image.Resampling.LANCZOS)
        canvas.paste(source, mask=alpha)
        return canvas
    if color is not None and color[3] < 255 and opaque:
        color = _over_white(color)
    if color is None and opaque:
        color = (*WHITE, 255)
    if color is not None and color[3] == 255:
        canvas = Image.new("RGB", source.size, color[:3])
        canvas.paste(source, mask=alpha)
        return canvas
    out = source.convert("RGBA") if source.mode != "RGBA" else source.copy()
    out.putalpha(alpha)
    if color is not None:
        canvas = Image.new("RGBA", out.size, color)
        canvas.alpha_composite(out)
        out = canvas
    return out


def _over_white(color: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    alpha = color[3] / 255
    r, g, b = (round(c * alpha + 255 * (1 - alpha)) for c in color[:3])
    return r, g, b, 255
