"""A soft drop shadow: the subject's silhouette, blurred, moved down and a little right, drawn under it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageFilter

from domain.cutouts import Shadow
from domain.geometry import Box

# Fractions of the subject's height. The offset down is over three blur radii, so no shade reaches
# above the subject's top edge.
BLUR = 0.02
OFFSET_RIGHT = 0.03
OFFSET_DOWN = 0.07
# Blurring a smaller copy costs a fraction of the time and looks the same once scaled back up.
_MIN_REDUCED_BLUR = 4


@dataclass(frozen=True, slots=True)
class DropShadow:
    dx: int
    dy: int
    blur: float
    opacity: int

    @classmethod
    def under(cls, subject: Box, shadow: Shadow) -> DropShadow:
        height = subject.height
        return cls(round(height * OFFSET_RIGHT), round(height * OFFSET_DOWN), max(1.0, height * BLUR), shadow.opacity)

    def extent(self, subject: Box) -> Box:
        """Where the shade can be seen: the moved subject box, grown by three blur radii."""
        spread = math.ceil(3 * self.blur)
        moved = subject.shifted(self.dx, self.dy)
        return Box(moved.left - spread, moved.top - spread, moved.right + spread, moved.bottom + spread)

    def draw_under(self, cutout: Image.Image) -> Image.Image:
        """``cutout`` (RGBA) over its shadow: black, with the blurred alpha times the opacity."""
        shade = _blurred(cutout.getchannel("A"), self.blur)
        moved = Image.new("L", cutout.size, 0)
        moved.paste(shade, (self.dx, self.dy))
        moved = moved.point([round(v * self.opacity / 100) for v in range(256)])
        layer = Image.new("RGBA", cutout.size, (0, 0, 0, 0))
        layer.putalpha(moved)
        layer.alpha_composite(cutout)
        return layer


def _blurred(alpha: Image.Image, radius: float) -> Image.Image:
    factor = max(1, int(radius // _MIN_REDUCED_BLUR))
    if factor == 1:
        return alpha.filter(ImageFilter.GaussianBlur(radius))
    small = alpha.reduce(factor).filter(ImageFilter.GaussianBlur(radius / factor))
    return small.resize(alpha.size, Image.Resampling.BILINEAR)
