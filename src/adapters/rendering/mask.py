"""The alpha mask made final (region of interest, hard edges) and the subject found in it."""

from __future__ import annotations

import numpy as np
from PIL import Image

from domain.cutouts import CutoutOptions
from domain.errors import UnknownForeground
from domain.geometry import Box

# Alpha at or below this (about 8 % of 255) is not subject: it decides the subject's box and
# whether there is a subject at all.
SUBJECT_ALPHA_THRESHOLD = 20
# Without semitransparency, alpha from this value up is opaque and everything below is transparent.
HARD_EDGE_THRESHOLD = 128
_HARD_EDGE_LUT = [0] * HARD_EDGE_THRESHOLD + [255] * (256 - HARD_EDGE_THRESHOLD)


def final_mask(mask: Image.Image, size: tuple[int, int], options: CutoutOptions) -> Image.Image:
    """``mask`` as "L" of ``size``, with nothing outside the region of interest and, unless
    semitransparency is wanted, only fully opaque or fully transparent pixels."""
    if mask.mode != "L":
        mask = mask.convert("L")
    if mask.size != size:
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    if options.roi is not None:
        box = options.roi.box(*size).as_tuple()
        inside = Image.new("L", size, 0)
        inside.paste(mask.crop(box), box[:2])
        mask = inside
    if not options.semitransparency:
        mask = mask.point(_HARD_EDGE_LUT)
    return mask


def subject_box(mask: Image.Image) -> Box:
    """The box around every pixel above ``SUBJECT_ALPHA_THRESHOLD``; ``UnknownForeground`` when there is none."""
    solid = np.asarray(mask) > SUBJECT_ALPHA_THRESHOLD
    rows = np.flatnonzero(solid.any(axis=1))
    if rows.size == 0:
        raise UnknownForeground()
    columns = np.flatnonzero(solid.any(axis=0))
    return Box(int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1)
