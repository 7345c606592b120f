"""Where the subject ends up: moved and resized (``scale``, ``position``), then cropped to (``crop``)."""

from __future__ import annotations

from PIL import Image

from adapters.rendering.mask import subject_box
from domain.geometry import Box, CropMargin, Placement


def place(
    picture: Image.Image, mask: Image.Image, subject: Box, placement: Placement
) -> tuple[Image.Image, Image.Image, Box]:
    """The subject alone, resized and moved on an empty canvas of the same size."""
    _, target = placement.place(subject, picture.size)
    region, region_mask = picture.crop(subject.as_tuple()), mask.crop(subject.as_tuple())
    if (target.width, target.height) != region.size:
        region = region.resize((target.width, target.height), Image.Resampling.LANCZOS)
        region_mask = region_mask.resize((target.width, target.height), Image.Resampling.LANCZOS)
    canvas, canvas_mask = Image.new("RGB", picture.size), Image.new("L", picture.size, 0)
    canvas.paste(region, (target.left, target.top))
    canvas_mask.paste(region_mask, (target.left, target.top))
    return canvas, canvas_mask, subject_box(canvas_mask)  # measured again: resampling moves edges


def crop(
    picture: Image.Image, mask: Image.Image, subject: Box, extent: Box, margin: CropMargin
) -> tuple[Image.Image, Image.Image, Box]:
    """Cut to ``extent`` (the subject and its shadow) plus the margins; beyond an edge the canvas
    grows with black pixels that zero alpha hides."""
    box = margin.around(subject).union(extent)
    return picture.crop(box.as_tuple()), mask.crop(box.as_tuple()), subject.shifted(-box.left, -box.top)
