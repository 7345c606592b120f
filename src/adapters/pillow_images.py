"""The ports name pictures and masks by what the domain may read of them (``Picture``, ``Mask``); in
every adapter they are Pillow images, and ``pillow_image`` takes one back as the image it is."""

from __future__ import annotations

from PIL import Image

from domain.ports import Mask, Picture


def pillow_image(value: Picture | Mask) -> Image.Image:
    if not isinstance(value, Image.Image):
        raise TypeError(f"expected a Pillow image, got {type(value).__name__}")
    return value
