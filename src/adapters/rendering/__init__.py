"""Rendering a cut-out with Pillow: the mask made final, the subject placed and cropped, its shadow
drawn, the background laid under it, and the result encoded. Options not asked for cost nothing."""

from __future__ import annotations

from PIL import Image

from adapters.rendering.background import BackgroundImage, lay, parse_color
from adapters.rendering.encode import encode, resolve_auto
from adapters.rendering.mask import final_mask, subject_box
from adapters.rendering.placement import crop, place
from adapters.rendering.shadow import DropShadow
from domain.cutouts import Channels, CutoutOptions, OutputFormat, RenderedImage

__all__ = ["BackgroundImage", "parse_color", "render"]


def render(
    picture: Image.Image, mask: Image.Image, options: CutoutOptions, background: BackgroundImage | None
) -> RenderedImage:
    """``picture`` (RGB) cut out with ``mask``; raises ``UnknownForeground`` when the mask holds no subject."""
    icc_profile = picture.info.get("icc_profile")
    mask = final_mask(mask, picture.size, options)
    subject = subject_box(mask)
    if options.placement.moves:
        picture, mask, subject = place(picture, mask, subject, options.placement)
    shadow = DropShadow.under(subject, options.shadow) if options.shadow is not None else None
    if options.crop:
        extent = subject if shadow is None else subject.union(shadow.extent(subject))
        picture, mask, subject = crop(picture, mask, subject, extent, options.crop_margin)

    source, alpha = picture, mask
    if shadow is not None:
        source = picture.convert("RGBA")
        source.putalpha(mask)
        source = shadow.draw_under(source)
        alpha = source.getchannel("A")

    fmt = options.format
    if options.channels is Channels.ALPHA and fmt is not OutputFormat.ZIP:
        image = alpha
    else:
        color = parse_color(options.bg_color) if options.bg_color and options.bg_color.strip() else None
        image = lay(source, alpha, color, background, opaque=fmt is OutputFormat.JPG)
    if fmt is OutputFormat.AUTO:
        fmt = resolve_auto(image)
    data = encode(image, fmt, icc_profile)
    return RenderedImage(data, fmt.media_type, image.width, image.height, subject)
