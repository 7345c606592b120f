"""Value objects of a cut-out request: where the image comes from and how the result should look."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from domain.errors import InvalidOption, MissingSource
from domain.pricing import SizeChoice

MAX_UPLOAD_BYTES = 25_000_000
"""The largest request body, and the largest image fetched from ``image_url``."""
MAX_MARGIN_PIXELS = 500
MAX_MARGIN_PERCENT = 50.0


class OutputFormat(enum.StrEnum):
    PNG = "png"
    JPG = "jpg"
    WEBP = "webp"

    @property
    def media_type(self) -> str:
        return {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}[self.value]

    @property
    def has_alpha(self) -> bool:
        return self is not OutputFormat.JPG


@dataclass(frozen=True, slots=True)
class Margin:
    """One side of a crop margin: pixels, or a percentage of the subject's size on that axis."""

    value: float
    percent: bool = False

    def pixels(self, subject_extent: int) -> int:
        if self.percent:
            return round(subject_extent * self.value / 100)
        return round(self.value)


@dataclass(frozen=True, slots=True)
class CropMargin:
    top: Margin = Margin(0)
    right: Margin = Margin(0)
    bottom: Margin = Margin(0)
    left: Margin = Margin(0)

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
        sides = [_parse_margin(p) for p in parts]
        if len(sides) == 1:
            sides *= 4
        elif len(sides) == 2:
            sides = [sides[0], sides[1], sides[0], sides[1]]
        return cls(*sides)


_MARGIN = re.compile(r"^(\d+(?:\.\d+)?)(px|%)?$")


def _parse_margin(text: str) -> Margin:
    match = _MARGIN.match(text.strip().lower())
    if not match:
        raise InvalidOption(f"{text!r} is not a margin like 30px or 10%.", field="crop_margin")
    value, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        if value > MAX_MARGIN_PERCENT:
            raise InvalidOption("crop_margin is at most 50%.", field="crop_margin")
        return Margin(value, percent=True)
    if value > MAX_MARGIN_PIXELS:
        raise InvalidOption("crop_margin is at most 500px.", field="crop_margin")
    return Margin(value)


@dataclass(frozen=True, slots=True)
class CutoutOptions:
    size: SizeChoice = SizeChoice.AUTO
    format: OutputFormat = OutputFormat.PNG
    bg_color: str | None = None
    crop: bool = False
    crop_margin: CropMargin = field(default_factory=CropMargin)


@dataclass(frozen=True, slots=True)
class ImageSource:
    """Exactly one of: the uploaded bytes, or a URL to fetch them from."""

    data: bytes | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise MissingSource()


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the header of an image says, read before any pixel is decoded."""

    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class RenderedImage:
    data: bytes
    media_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class CutoutResult:
    image: RenderedImage
    credits_charged: int
