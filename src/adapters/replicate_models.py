"""The background-removal models Cutout runs on Replicate: one row each, saying how to call the model
and how its answer becomes our mask. Adding a model is adding a row."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from PIL import Image

from domain.pricing import MAX_INPUT_PIXELS

OUTPUT_FORMATS = ("PNG", "WEBP", "JPEG")


class OutputKind(enum.Enum):
    """What a model answers with, and how that becomes an "L" mask (0 = background, 255 = subject)."""

    CUTOUT = "cutout"  # the subject on a transparent background: its alpha is the mask
    MASK = "mask"  # a greyscale matte: its luminance is the mask

    def to_mask(self, image: Image.Image) -> Image.Image:
        if self is OutputKind.MASK:
            return image.convert("L")
        if "A" not in image.getbands() and "transparency" not in image.info:
            raise ValueError(f"the model answered a {image.mode} image without transparency")
        return image.convert("RGBA").getchannel("A")


@dataclass(frozen=True, slots=True)
class ReplicateModel:
    name: str  # owner/name
    input_name: str  # the input field that takes the image
    output: OutputKind
    # Official models run by name (always their latest version); community models need a version.
    version: str | None = None
    extra_input: Mapping[str, Any] = field(default_factory=dict)

    def input(self, image: str) -> dict[str, Any]:
        """The prediction input for ``image`` (a data URI or a URL)."""
        return {self.input_name: image, **self.extra_input}


MODELS: dict[str, ReplicateModel] = {
    model.name: model
    for model in (
        ReplicateModel("bria/remove-background", "image", OutputKind.CUTOUT),
        ReplicateModel(
            "851-labs/background-remover",
            "image",
            OutputKind.MASK,
            version="a029dff38972b5fda4ec5d75d7d1cd25aeff621d2cf4946a41055d7db66b80bc",
            extra_input={"background_type": "map", "format": "png"},
        ),
        ReplicateModel(
            "lucataco/remove-bg",
            "image",
            OutputKind.CUTOUT,
            version="95fcc2a26d3899cd6c2691c900465aaeff466285a65c14638cc5f36f34befaf1",
        ),
    )
}
DEFAULT_MODEL = "bria/remove-background"


def resolve(reference: str) -> ReplicateModel:
    """The row for ``owner/name`` or ``owner/name:version`` (a version given here wins over the row's)."""
    name, _, version = reference.strip().partition(":")
    if name not in MODELS:
        raise ValueError(f"{name!r} is not a model Cutout knows how to read; use one of {', '.join(sorted(MODELS))}")
    model = MODELS[name]
    if version:
        return ReplicateModel(model.name, model.input_name, model.output, version, model.extra_input)
    return model


def mask_from_output(model: ReplicateModel, data: bytes, size: tuple[int, int]) -> Image.Image:
    """Our mask, ``size`` (width, height), from the bytes of the model's output image (blocking)."""
    with Image.open(BytesIO(data), formats=OUTPUT_FORMATS) as image:
        if image.width * image.height > MAX_INPUT_PIXELS:
            raise ValueError(f"the model answered a {image.width}x{image.height} image")
        mask = model.output.to_mask(image)
    return mask if mask.size == size else mask.resize(size, Image.Resampling.BILINEAR)
