"""Lengths, boxes and the geometric options of a cut-out: crop margin, region of interest, scale and position."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidOption, RoiExceedsBounds, RoiRegionEmpty

MAX_MARGIN_PIXELS = 500
MAX_MARGIN_PERCENT = 50.0
MIN_SCALE_PERCENT = 10.0

_LENGTH = re.compile(r"^(\d+(?:\.\d+)?)(px|%)?$")


@dataclass(frozen=True, slots=True)
class Length:
    """Pixels, or a percentage of some extent (the subject's or the image's, as the option says)."""

    value: float
    percent: bool = False

    @classmethod
    def parse(cls, text: str, field: str) -> Length:
        """``30``, ``30px`` or ``10%``."""
        match = _LENGTH.match(str(text).strip().lower())
        if not match:
            raise InvalidOption(f"{text!r} is not a length like 30px or 10%.", field=field)
        return cls(float(match.group(1)), percent=match.group(2) == "%")

    def pixels(self, extent: int) -> int:
        if self.percent:
            return round(extent * self.value / 100)
        return round(self.value)


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in pixels: ``left`` and ``top`` included, ``right`` and ``bottom`` excluded."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def shifted(self, dx: int, dy: int) -> Box:
        return Box(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy)

    def union(self, other: Box) -> Box:
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom


@dataclass(frozen=True, slots=True)
class CropMargin:
    top: Length = Length(0)
    right: Length = Length(0)
    bottom: Length = Length(0)
    left: Length = Length(0)

    @classmethod
    def parse(cls, text: str | None) -> CropMargin:
        """CSS-like: one value (all sides), two (vertical horizontal) or four (top right bottom left).

        Each value is ``30``/``30px`` (at most 500) or ``10%`` (at most 50) of the subject size.
        """
        if text is None or not str(text).strip():
            return cls()
        parts = str(text).replace(",", " ").split()
        if len(parts) not in (1, 2, 4):
            raise InvalidOption("crop_margin takes one, two or four values.", field="crop_margin")
        sides = [_margin(p) for p in parts]
        if len(sides) == 1:
            sides *= 4
        elif len(sides) == 2:
            sides = [sides[0], sides[1], sides[0], sides[1]]
        return cls(*sides)

    def around(self, subject: Box) -> Box:
        """``subject`` grown by the margins (percentages are of the subject's width or height)."""
        return Box(
            subject.left - self.left.pixels(subject.width),
            subject.top - self.top.pixels(subject.height),
            subject.right + self.right.pixels(subject.width),
            subject.bottom + self.bottom.pixels(subject.height),
        )


def _margin(text: str) -> Length:
    margin = Length.parse(text, "crop_margin")
    if margin.percent and margin.value > MAX_MARGIN_PERCENT:
        raise InvalidOption("crop_margin is at most 50%.", field="crop_margin")
    if not margin.percent and margin.value > MAX_MARGIN_PIXELS:
        raise InvalidOption("crop_margin is at most 500px.", field="crop_margin")
    return margin


@dataclass(frozen=True, slots=True)
class Roi:
    """remove.bg's region of interest ``x1 y1 x2 y2``: only the subject inside it is kept.

    Coordinates are pixels of the image as sent (upright) or percentages of its width and height."""

    x1: Length
    y1: Length
    x2: Length
    y2: Length

    @classmethod
    def parse(cls, text: str | None) -> Roi | None:
        if text is None or not str(text).strip():
            return None
        parts = str(text).replace(",", " ").split()
        if len(parts) != 4:
            raise InvalidOption("roi takes four values: x1 y1 x2 y2.", field="roi")
        roi = cls(*(Length.parse(p, "roi") for p in parts))
        if any(c.percent and c.value > 100 for c in roi._coordinates):
            raise RoiExceedsBounds(field="roi")
        return roi

    @property
    def _coordinates(self) -> tuple[Length, Length, Length, Length]:
        return self.x1, self.y1, self.x2, self.y2

    def box(self, width: int, height: int) -> Box:
        return Box(self.x1.pixels(width), self.y1.pixels(height), self.x2.pixels(width), self.y2.pixels(height))

    def relative_to(self, width: int, height: int) -> Roi:
        """The same region in percentages of a ``width`` x ``height`` image, so it survives resizing.

        Raises ``RoiExceedsBounds`` when it reaches beyond the image, ``RoiRegionEmpty`` when it is empty."""
        box = self.box(width, height)
        if box.right > width or box.bottom > height:
            raise RoiExceedsBounds(field="roi", width=width, height=height)
        if box.width <= 0 or box.height <= 0:
            raise RoiRegionEmpty(field="roi")
        return Roi(
            *(
                Length(100 * v / extent, percent=True)
                for v, extent in zip(box.as_tuple(), (width, height) * 2, strict=True)
            )
        )


@dataclass(frozen=True, slots=True)
class Placement:
    """remove.bg's ``scale`` and ``position``: the subject resized to ``scale`` of the canvas (fitting
    both sides) and put at ``position`` (0 = left/top edge, 0.5 = centre, 1 = right/bottom edge).
    Both unset: the subject stays where it is. A scale without a position centres the subject."""

    scale: float | None = None
    position: tuple[float, float] | None = None

    @classmethod
    def parse(cls, scale: Any, position: Any) -> Placement:
        return cls(_scale(scale), _position(position))

    @property
    def moves(self) -> bool:
        return self.scale is not None or self.position is not None

    def place(self, subject: Box, canvas: tuple[int, int]) -> tuple[float, Box]:
        """The resize factor for the subject and where it ends on the canvas."""
        width, height = canvas
        factor = 1.0
        if self.scale is not None:
            factor = min(self.scale * width / subject.width, self.scale * height / subject.height)
        new_width, new_height = max(1, round(subject.width * factor)), max(1, round(subject.height * factor))
        if self.position is None:
            x, y = 0.5, 0.5
        else:
            x, y = self.position
        left, top = round((width - new_width) * x), round((height - new_height) * y)
        return factor, Box(left, top, left + new_width, top + new_height)


def _percent(value: Any, field: str, low: float) -> float:
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)%?", text)
    if not match or not low <= float(match.group(1)) <= 100:
        raise InvalidOption(f"{field} {value!r} is not a percentage from {low:g}% to 100%.", field=field)
    return float(match.group(1)) / 100


def _scale(value: Any) -> float | None:
    if value is None or str(value).strip().lower() in ("", "original"):
        return None
    return _percent(value, "scale", MIN_SCALE_PERCENT)


def _position(value: Any) -> tuple[float, float] | None:
    text = "" if value is None else str(value).strip().lower()
    if text in ("", "original"):
        return None
    if text == "center":
        return 0.5, 0.5
    parts = text.replace(",", " ").split()
    if len(parts) not in (1, 2):
        raise InvalidOption("position is original, center, or one or two percentages.", field="position")
    values = [_percent(p, "position", 0) for p in parts]
    return (values[0], values[-1])
