"""Value objects of a cut-out request: where the image comes from and how the result should look."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from domain.errors import InvalidOption, MissingSource, MultipleBackgrounds
from domain.geometry import Box, CropMargin, Placement, Roi
from domain.pricing import SizeChoice

MAX_UPLOAD_BYTES = 25_000_000
"""The largest request body, and the largest image fetched from ``image_url``."""


class OutputFormat(enum.StrEnum):
    """``auto`` is PNG when anything is transparent, else JPG; ``zip`` holds ``color.jpg`` and ``alpha.png``."""

    AUTO = "auto"
    PNG = "png"
    JPG = "jpg"
    WEBP = "webp"
    ZIP = "zip"

    @classmethod
    def parse(cls, text: str) -> OutputFormat:
        name = str(text).strip().lower()
        try:
            return cls("jpg" if name == "jpeg" else name)
        except ValueError:
            raise InvalidOption(f"format {text!r} is not one of auto, png, jpg, webp or zip.", field="format") from None

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def has_alpha(self) -> bool:
        return self is not OutputFormat.JPG


_MEDIA_TYPES = {
    OutputFormat.PNG: "image/png",
    OutputFormat.JPG: "image/jpeg",
    OutputFormat.WEBP: "image/webp",
    OutputFormat.ZIP: "application/zip",
}


class Channels(enum.StrEnum):
    """``rgba``: the cut-out; ``alpha``: its alpha mask alone (greyscale)."""

    RGBA = "rgba"
    ALPHA = "alpha"


class ForegroundType(enum.StrEnum):
    AUTO = "auto"
    PERSON = "person"
    PRODUCT = "product"
    CAR = "car"
    ANIMAL = "animal"
    GRAPHIC = "graphic"
    TRANSPORTATION = "transportation"


class TypeLevel(enum.StrEnum):
    """How specific the reported type is: remove.bg's coarse classes (1) or finer ones (2, latest)."""

    NONE = "none"
    COARSE = "1"
    FINE = "2"
    LATEST = "latest"


_COARSE_TYPES = {ForegroundType.PERSON, ForegroundType.PRODUCT, ForegroundType.CAR, ForegroundType.ANIMAL}
_FINE_NAMES = {ForegroundType.GRAPHIC: "graphics", ForegroundType.TRANSPORTATION: "transportation"}


def reported_type(requested: ForegroundType, level: TypeLevel) -> str | None:
    """What ``X-Type`` says. Cutout does not classify images: a requested type is echoed in the
    level's class names, ``auto`` is reported as ``other``, and level ``none`` reports nothing."""
    if level is TypeLevel.NONE:
        return None
    if requested in _COARSE_TYPES:
        return requested.value
    if level is not TypeLevel.COARSE and requested in _FINE_NAMES:
        return _FINE_NAMES[requested]
    return "other"


class ShadowType(enum.StrEnum):
    CAR = "car"
    THREE_D = "3d"
    DROP = "drop"


DEFAULT_SHADOW_OPACITY = 50


@dataclass(frozen=True, slots=True)
class Shadow:
    """A soft drop shadow under the subject. Every type is drawn the same way; ``opacity`` is 0-100."""

    type: ShadowType = ShadowType.DROP
    opacity: int = DEFAULT_SHADOW_OPACITY

    @classmethod
    def parse(cls, add_shadow: bool, shadow_type: str | None, opacity: int | str | None) -> Shadow | None:
        """``add_shadow=true`` or any ``shadow_type`` turns the shadow on."""
        kind = None
        if shadow_type is not None and str(shadow_type).strip():
            try:
                kind = ShadowType(str(shadow_type).strip().lower())
            except ValueError:
                raise InvalidOption("shadow_type is one of car, 3D or drop.", field="shadow_type") from None
        if not add_shadow and kind is None:
            return None
        value = DEFAULT_SHADOW_OPACITY
        if opacity is not None and str(opacity).strip():
            try:
                value = int(str(opacity).strip())
            except ValueError:
                value = -1
            if not 0 <= value <= 100:
                raise InvalidOption("shadow_opacity is a whole number from 0 to 100.", field="shadow_opacity")
        return cls(kind or ShadowType.DROP, value)


@dataclass(frozen=True, slots=True)
class ImageSource:
    """Exactly one of: the uploaded bytes, or a URL to fetch them from."""

    data: bytes | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise MissingSource()


@dataclass(frozen=True, slots=True)
class CutoutOptions:
    size: SizeChoice = SizeChoice.AUTO
    format: OutputFormat = OutputFormat.PNG
    bg_color: str | None = None
    bg_image: ImageSource | None = None
    crop: bool = False
    crop_margin: CropMargin = field(default_factory=CropMargin)
    roi: Roi | None = None
    placement: Placement = field(default_factory=Placement)
    channels: Channels = Channels.RGBA
    semitransparency: bool = True
    shadow: Shadow | None = None
    foreground_type: ForegroundType = ForegroundType.AUTO
    type_level: TypeLevel = TypeLevel.COARSE

    def __post_init__(self) -> None:
        if self.bg_image is not None and self.bg_color:
            raise MultipleBackgrounds(field="bg_color")


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the header of an image says, read before any pixel is decoded. ``width`` and ``height``
    are as stored; ``turned`` says the EXIF orientation swaps them for viewing."""

    format: str
    width: int
    height: int
    turned: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def upright_size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.turned else (self.width, self.height)


@dataclass(frozen=True, slots=True)
class RenderedImage:
    """The encoded result; ``foreground`` is the subject's box in it (None when the fake has none)."""

    data: bytes
    media_type: str
    width: int
    height: int
    foreground: Box | None = None


@dataclass(frozen=True, slots=True)
class CutoutResult:
    image: RenderedImage
    credits_charged: int
    foreground_type: str | None = None
