"""The ``Imaging`` port on Pillow: header probing, safe decoding and rendering of the cut-out.

Only JPEG, PNG and WebP are ever opened for decoding. The pixel limit is checked right after
``Image.open`` has read the header, before any pixel is decoded; every CPU-heavy step runs in the
shared ``CpuPool``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from io import BytesIO
from typing import cast

import numpy as np
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from adapters.cpu import CpuPool
from adapters.pillow_images import pillow_image
from adapters.rendering import BackgroundImage, parse_color, render
from domain.cutouts import CutoutOptions, ImageInfo, RenderedImage
from domain.errors import DomainError, ImageTooLarge, InvalidImage, UnsupportedFormat
from domain.ports import Mask, Picture
from domain.pricing import MAX_INPUT_PIXELS

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Pillow hands some camera JPEGs back as MPO (multi-picture JPEG); to us they are JPEG.
_FORMAT_ALIASES = {"MPO": "JPEG"}

RESIZE_REDUCING_GAP = 3.0
WHITE = (255, 255, 255)

# SVG is text that Pillow does not identify; spotted here so it is refused as a format, like GIF.
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)

# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose does).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = {5, 6, 7, 8}


class PillowImaging:
    """``Imaging`` on Pillow. Images are refused above ``max_pixels`` (50 MP) from the header alone."""

    def __init__(self, cpu: CpuPool, max_pixels: int = MAX_INPUT_PIXELS) -> None:
        pillow_limit = Image.MAX_IMAGE_PIXELS
        if pillow_limit is not None and max_pixels > pillow_limit:
            # Pillow warns above its own limit (and refuses at twice it); keeping ours below means that
            # warning can only ever come with an ImageTooLarge, and no global warning filter is needed.
            raise ValueError(f"max_pixels {max_pixels} is above Pillow's limit {pillow_limit}")
        self.cpu = cpu
        self.max_pixels = max_pixels

    # -- the port ---------------------------------------------------------------------------------

    def probe(self, data: bytes) -> ImageInfo:
        with self._open(data) as im:
            return ImageInfo(_format_name(im), im.width, im.height, turned=_orientation(im) in _SWAPS_AXES)

    def check_options(self, options: CutoutOptions) -> None:
        if options.bg_color is not None and options.bg_color.strip():
            parse_color(options.bg_color)

    async def decode(self, data: bytes, size: tuple[int, int]) -> Image.Image:
        return await self.cpu.run(self._decode, data, size)

    async def render(self, picture: Picture, mask: Mask, options: CutoutOptions) -> RenderedImage:
        return await self.cpu.run(self._render, pillow_image(picture), pillow_image(mask), options)

    # -- opening ----------------------------------------------------------------------------------

    def _open(self, data: bytes) -> ImageFile.ImageFile:
        """Open from the header (no pixel decoded yet) and enforce the format and pixel limits."""
        if not data:
            raise InvalidImage("The file is empty.")
        try:
            im = Image.open(BytesIO(data), formats=ACCEPTED_FORMATS)
        except Image.DecompressionBombError:
            raise self._too_large(*(_header_size(data) or (None, None))) from None
        except UnidentifiedImageError:
            raise _unaccepted(data) from None
        except MemoryError:
            raise
        except Exception as error:  # a malformed header can surface as almost anything
            raise InvalidImage() from error
        if im.width < 1 or im.height < 1:
            im.close()
            raise InvalidImage()
        if im.width * im.height > self.max_pixels:
            im.close()
            raise self._too_large(im.width, im.height)
        return im

    def _too_large(self, width: int | None, height: int | None) -> ImageTooLarge:
        return ImageTooLarge(
            f"The image has more than {self.max_pixels} pixels.",
            width=width,
            height=height,
            max_pixels=self.max_pixels,
        )

    # -- decoding (worker thread) -----------------------------------------------------------------

    def _decode(self, data: bytes, size: tuple[int, int]) -> Image.Image:
        width, height = size
        if width < 1 or height < 1:
            raise ValueError(f"invalid target size {size}")
        with self._open(data) as im:
            try:
                if im.format in ("JPEG", "MPO") and (width < im.width or height < im.height):
                    im.draft("RGB", (width, height))  # let libjpeg decode at 1/2, 1/4 or 1/8 scale
                _decode_sixteen_bit_grey_as_eight(im)
                im.load()
                orientation = _orientation(im)
                # ``size`` is in the stored (pre-orientation) frame, like the header's width and height,
                # so scale first (cheaper) and turn upright afterwards: 90 degrees swap the axes.
                rgb = _rgb_of_size(im, (width, height))
            except MemoryError:
                raise
            except Exception as error:  # truncated or corrupt pixel data
                raise InvalidImage("The image data is truncated or corrupt.") from error
            if orientation in _ORIENTATION:
                rgb = rgb.transpose(_ORIENTATION[orientation])
            if rgb is im:  # closing ``im`` below would take the pixels with it
                rgb = im.copy()
        return rgb

    # -- rendering (worker thread) ----------------------------------------------------------------

    def _render(self, picture: Image.Image, mask: Image.Image, options: CutoutOptions) -> RenderedImage:
        picture = picture if picture.mode == "RGB" else picture.convert("RGB")
        background = options.bg_image.data if options.bg_image is not None else None
        return render(picture, mask, options, self._cover(background) if background is not None else None)

    def _cover(self, data: bytes) -> BackgroundImage:
        """The background decoded just large enough to cover a canvas, whatever its orientation."""

        def decode(size: tuple[int, int]) -> Image.Image:
            info = self.probe(data)
            width, height = info.upright_size
            scale = max(size[0] / width, size[1] / height)
            target = (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale)))
            return self._decode(data, target[::-1] if info.turned else target)

        return decode


def _format_name(im: Image.Image) -> str:
    return _FORMAT_ALIASES.get(im.format or "", im.format or "")


def _unaccepted(data: bytes) -> DomainError:
    """Not a JPEG, PNG or WebP Pillow could open: another image format, or not an image at all."""
    if _SVG.search(data[:4096]):
        return UnsupportedFormat("SVG images are not supported; send a JPEG, PNG or WebP image.", format="SVG")
    try:
        with Image.open(BytesIO(data)) as other:
            name = other.format
    except Image.DecompressionBombError:  # Pillow recognised an image (a huge one) of another format
        return UnsupportedFormat()
    except Exception:
        return InvalidImage()
    if name in ACCEPTED_FORMATS or name in _FORMAT_ALIASES:  # cannot happen, but never call it unsupported
        return InvalidImage()
    return UnsupportedFormat(f"{name} images are not supported; send a JPEG, PNG or WebP image.", format=name)


def _header_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of an image Pillow refused as a decompression bomb (for the error details)."""
    for name in ACCEPTED_FORMATS:
        factory, accept = Image.OPEN.get(name, (None, None))
        if factory is None or (accept is not None and not accept(data[:16])):
            continue
        try:
            with factory(BytesIO(data), "") as im:  # the plugin alone: no bomb check, header only
                return im.size
        except Exception:
            continue
    return None


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
        return int(value)
    except Exception:  # broken EXIF is no reason to refuse the picture
        return 1


def _decode_sixteen_bit_grey_as_eight(im: ImageFile.ImageFile) -> None:
    """Before ``load``: have Pillow's PNG decoder keep the high byte of each 16-bit grey sample (its
    "L;16B" unpacker), so the picture is decoded as 8-bit "L" (1 byte a pixel) instead of "I;16" (2
    bytes), with no wide copy. A 16-bit grey transparent level has no 8-bit equivalent and is ignored.
    Pillow has no public way to choose a decoder's raw mode; should its internals
    change, the picture stays "I;16" and ``_narrower`` scales it, a band at a time."""
    if im.mode != "I;16" or len(im.tile) != 1:
        return
    tile = im.tile[0]
    if tile.codec_name != "zip" or tile.args != "I;16B":
        return
    im._mode = "L"
    if im.mode != "L":
        return
    im.tile = [tile._replace(args="L;16B")]
    im.info.pop("transparency", None)


# Rows converted at a time: a band of a 49 MP picture in RGB is about 8 MB.
_BAND_ROWS = 256


def _rgb_of_size(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``im`` (decoded) as RGB pixels of ``size``. It is converted a band of rows at a time, and when
    scaling down each band is first box-reduced by the whole factor Pillow's ``reducing_gap`` takes, so
    that besides the decoded picture nothing full-size is held: no wide copy of 16-bit samples, no
    4-byte RGB copy of an "L" or "P" picture, no premultiplied copy of an RGBA one."""
    factor = (
        max(1, int(im.width / size[0] / RESIZE_REDUCING_GAP)),
        max(1, int(im.height / size[1] / RESIZE_REDUCING_GAP)),
    )
    if im.mode == "RGB" and factor == (1, 1):
        rgb = _to_rgb(im)
    else:
        narrow = _narrower(im)
        rows = factor[1] * math.ceil(_BAND_ROWS / factor[1])  # bands on whole blocks: reduced as one
        rgb = Image.new("RGB", (math.ceil(im.width / factor[0]), math.ceil(im.height / factor[1])))
        for top in range(0, im.height, rows):
            band = _to_rgb(narrow(im.crop((0, top, im.width, min(top + rows, im.height)))))
            rgb.paste(band.reduce(factor) if factor != (1, 1) else band, (0, top // factor[1]))
        rgb.info = band.info
    if rgb.size != size:
        rgb = rgb.resize(size, Image.Resampling.BILINEAR, box=(0, 0, im.width / factor[0], im.height / factor[1]))
    return rgb


def _narrower(im: Image.Image) -> Callable[[Image.Image], Image.Image]:
    """How to make a band of ``im`` 8 bits per sample, if it is wider: 16-bit levels are scaled down
    (>> 8), as are 32-bit ones when the picture has levels above 255; floats are clipped to 0..255, as
    Pillow converts them. A plain conversion would clip every 16-bit level above 255 to white."""
    mode = im.mode
    if mode == "F":
        return lambda band: band.convert("L")
    if not (mode.startswith("I;16") or mode == "I"):
        return lambda band: band
    _, highest = cast(tuple[float, float], im.getextrema())  # one band: its lowest and highest levels
    shift = 8 if mode != "I" or highest > 255 else 0

    def narrow(band: Image.Image) -> Image.Image:
        levels = np.asarray(band).astype(np.int64) >> shift
        return Image.fromarray(np.clip(levels, 0, 255).astype(np.uint8), "L")

    return narrow


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB pixels for the model and the result; alpha is flattened onto white."""
    mode = im.mode
    # A colour profile describes RGB data only; keep it for RGB sources so the result looks the same.
    icc = im.info.get("icc_profile") if mode in ("RGB", "RGBA", "RGBX") else None
    if mode == "RGB":
        out = im
    elif (
        mode in ("RGBA", "LA", "PA", "RGBa", "La")
        or (mode == "P" and "transparency" in im.info)
        or (mode in ("L", "RGB", "1") and "transparency" in im.info)
    ):
        rgba = im if mode == "RGBA" else im.convert("RGBA")
        out = Image.new("RGB", rgba.size, WHITE)
        out.paste(rgba, mask=rgba)  # an RGBA mask is its alpha channel
    else:  # L, 1, P, CMYK, YCbCr, LAB, HSV ...
        out = im.convert("RGB")
    out.info = {"icc_profile": icc} if icc else {}
    return out
