"""remove.bg's options on the Pillow imaging adapter, checked geometrically on pictures drawn here.

The scene: a 200 x 100 grey picture with a red 100 x 40 subject at (50, 20)-(150, 60), and a mask
that is opaque exactly there."""

from __future__ import annotations

import zipfile
from io import BytesIO

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from domain.cutouts import Channels, CutoutOptions, ImageSource, OutputFormat, Shadow, ShadowType
from domain.errors import UnknownForeground
from domain.geometry import Box, CropMargin, Placement, Roi

SCENE = (200, 100)
SUBJECT = Box(50, 20, 150, 60)
GREY = (128, 128, 128)
RED = (220, 20, 20)


@pytest.fixture
def imaging() -> PillowImaging:
    return PillowImaging(CpuPool())


def picture() -> Image.Image:
    im = Image.new("RGB", SCENE, GREY)
    ImageDraw.Draw(im).rectangle((SUBJECT.left, SUBJECT.top, SUBJECT.right - 1, SUBJECT.bottom - 1), fill=RED)
    return im


def mask(*boxes: Box) -> Image.Image:
    m = Image.new("L", SCENE, 0)
    for box in boxes or (SUBJECT,):
        ImageDraw.Draw(m).rectangle((box.left, box.top, box.right - 1, box.bottom - 1), fill=255)
    return m


def opened(data: bytes) -> Image.Image:
    im = Image.open(BytesIO(data))
    im.load()
    return im


def alpha_box(im: Image.Image) -> tuple[int, int, int, int] | None:
    return im.getchannel("A").point(lambda v: 255 if v > 20 else 0).getbbox()


def encode(im: Image.Image, fmt: str) -> bytes:
    buffer = BytesIO()
    im.save(buffer, fmt)
    return buffer.getvalue()


async def test_the_foreground_box_is_the_subject(imaging):
    result = await imaging.render(picture(), mask(), CutoutOptions())
    assert result.foreground == SUBJECT


# -- roi ------------------------------------------------------------------------------------------

LEFT, RIGHT = Box(10, 10, 60, 90), Box(130, 30, 190, 70)


@pytest.mark.parametrize("roi", ["0% 0% 50% 100%", "0px 0px 100px 100px", "5 5 100 95"])
async def test_roi_keeps_only_the_subject_inside_it(imaging, roi):
    result = await imaging.render(picture(), mask(LEFT, RIGHT), CutoutOptions(roi=Roi.parse(roi)))
    out = opened(result.data)
    assert alpha_box(out) == LEFT.as_tuple()
    assert result.foreground == LEFT
    assert np.asarray(out.getchannel("A"))[:, 100:].max() == 0


async def test_a_roi_without_subject_is_an_unknown_foreground(imaging):
    with pytest.raises(UnknownForeground):
        await imaging.render(picture(), mask(LEFT), CutoutOptions(roi=Roi.parse("70% 0% 100% 100%")))


async def test_roi_and_crop_crop_to_the_subject_in_the_region(imaging):
    options = CutoutOptions(roi=Roi.parse("50% 0% 100% 100%"), crop=True)
    result = await imaging.render(picture(), mask(LEFT, RIGHT), options)
    assert (result.width, result.height) == (RIGHT.width, RIGHT.height)
    assert result.foreground == Box(0, 0, RIGHT.width, RIGHT.height)


# -- semitransparency -----------------------------------------------------------------------------


async def test_without_semitransparency_edges_are_hard(imaging):
    gradient = Image.linear_gradient("L").rotate(90).resize(SCENE)  # 255 on the left to 0 on the right
    soft = opened((await imaging.render(picture(), gradient, CutoutOptions())).data).getchannel("A")
    hard = opened((await imaging.render(picture(), gradient, CutoutOptions(semitransparency=False))).data)
    levels = np.asarray(hard.getchannel("A"))
    assert set(np.unique(levels)) == {0, 255}
    assert np.array_equal(levels == 255, np.asarray(gradient) >= 128)
    assert len(np.unique(np.asarray(soft))) > 100


# -- scale and position ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "position", "placed"),
    [
        ("25%", None, Box(75, 40, 125, 60)),  # fits 50 x 25: the 100 x 40 subject halves, centred
        ("100%", None, Box(0, 10, 200, 90)),  # fits the whole canvas: doubles
        ("25%", "0% 100%", Box(0, 80, 50, 100)),  # bottom left
        (None, "100%", Box(100, 60, 200, 100)),  # original size, bottom right
        (None, "center", Box(50, 30, 150, 70)),
        ("50%", "original", Box(50, 30, 150, 70)),  # "original" position still centres a scaled subject
    ],
)
async def test_scale_and_position_place_the_subject(imaging, scale, position, placed):
    options = CutoutOptions(placement=Placement.parse(scale, position))
    result = await imaging.render(picture(), mask(), options)
    out = opened(result.data)
    assert out.size == SCENE
    assert alpha_box(out) == placed.as_tuple()
    assert result.foreground == placed
    centre = ((placed.left + placed.right) // 2, (placed.top + placed.bottom) // 2)
    assert out.getpixel(centre)[:3] == RED
    assert out.getpixel((0, 0) if placed.left > 0 else (199, 0))[3] == 0  # the old place is empty


async def test_crop_after_scale_is_the_scaled_subject(imaging):
    options = CutoutOptions(placement=Placement.parse("25%", None), crop=True, crop_margin=CropMargin.parse("10px"))
    result = await imaging.render(picture(), mask(), options)
    assert (result.width, result.height) == (50 + 20, 20 + 20)
    assert result.foreground == Box(10, 10, 60, 30)


# -- channels, formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "name"), [(OutputFormat.PNG, "PNG"), (OutputFormat.AUTO, "PNG")])
async def test_channels_alpha_is_the_mask_alone(imaging, fmt, name):
    soft = mask()
    ImageDraw.Draw(soft).rectangle((0, 0, 9, 9), fill=90)
    options = CutoutOptions(channels=Channels.ALPHA, format=fmt, bg_color="blue")
    result = await imaging.render(picture(), soft, options)
    out = opened(result.data)
    assert (out.format, out.mode, out.size) == (name, "L", SCENE)
    assert np.array_equal(np.asarray(out), np.asarray(soft))


async def test_channels_alpha_as_jpg_is_a_grey_picture_of_the_mask(imaging):
    options = CutoutOptions(channels=Channels.ALPHA, format=OutputFormat.JPG)
    out = opened((await imaging.render(picture(), mask(), options)).data)
    assert (out.format, out.mode) == ("JPEG", "L")
    assert out.getpixel((100, 40)) > 245 and out.getpixel((10, 10)) < 10


@pytest.mark.parametrize(
    ("options", "media_type", "mode"),
    [
        (CutoutOptions(format=OutputFormat.AUTO), "image/png", "RGBA"),
        (CutoutOptions(format=OutputFormat.AUTO, bg_color="white"), "image/jpeg", "RGB"),
        (CutoutOptions(format=OutputFormat.AUTO, bg_color="ffffff80"), "image/png", "RGBA"),
    ],
)
async def test_auto_is_png_with_transparency_else_jpg(imaging, options, media_type, mode):
    result = await imaging.render(picture(), mask(), options)
    assert result.media_type == media_type
    assert opened(result.data).mode == mode


async def test_auto_is_jpg_when_the_subject_fills_the_frame(imaging):
    result = await imaging.render(picture(), Image.new("L", SCENE, 255), CutoutOptions(format=OutputFormat.AUTO))
    assert result.media_type == "image/jpeg"


async def test_zip_holds_color_jpg_and_alpha_png(imaging):
    options = CutoutOptions(format=OutputFormat.ZIP, crop=True)
    result = await imaging.render(picture(), mask(), options)
    assert result.media_type == "application/zip"
    with zipfile.ZipFile(BytesIO(result.data)) as archive:
        assert archive.namelist() == ["color.jpg", "alpha.png"]
        color = opened(archive.read("color.jpg"))
        alpha = opened(archive.read("alpha.png"))
    assert (color.format, color.mode, color.size) == ("JPEG", "RGB", (100, 40))
    assert (alpha.format, alpha.mode, alpha.size) == ("PNG", "L", (100, 40))
    assert np.asarray(alpha).min() == 255  # cropped to an opaque subject
    assert max(abs(a - b) for a, b in zip(color.getpixel((50, 20)), RED, strict=True)) <= 8
    assert (result.width, result.height) == (100, 40)


async def test_zip_of_the_whole_frame_keeps_the_matte(imaging):
    result = await imaging.render(picture(), mask(), CutoutOptions(format=OutputFormat.ZIP))
    with zipfile.ZipFile(BytesIO(result.data)) as archive:
        alpha = opened(archive.read("alpha.png"))
    assert np.array_equal(np.asarray(alpha), np.asarray(mask()))


@pytest.mark.parametrize("fmt", [OutputFormat.WEBP, OutputFormat.JPG])
async def test_channels_alpha_in_other_formats(imaging, fmt):
    result = await imaging.render(picture(), mask(), CutoutOptions(channels=Channels.ALPHA, format=fmt))
    out = opened(result.data).convert("L")
    assert out.getpixel((100, 40)) > 245 and out.getpixel((5, 5)) < 10


# -- background image -----------------------------------------------------------------------------


def halves(size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    im = Image.new("RGB", size, right)
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 2 - 1, size[1] - 1), fill=left)
    return im


def near(pixel: tuple[int, ...], color: tuple[int, int, int], tolerance: int = 10) -> bool:
    return max(abs(a - b) for a, b in zip(pixel[:3], color, strict=True)) <= tolerance


async def test_a_background_image_covers_the_canvas_centred(imaging):
    # 400 x 100 (4:1) covers 200 x 100 at scale 1 and is cut to its middle: x 100-300 of the original.
    background = encode(halves((400, 100), (0, 0, 255), (255, 255, 0)), "PNG")
    options = CutoutOptions(bg_image=ImageSource(data=background))
    result = await imaging.render(picture(), mask(), options)
    out = opened(result.data).convert("RGB")
    assert out.size == SCENE
    assert near(out.getpixel((10, 5)), (0, 0, 255)) and near(out.getpixel((190, 95)), (255, 255, 0))
    assert near(out.getpixel((100, 40)), RED)  # the subject stays on top


async def test_a_background_image_is_scaled_up_to_cover(imaging):
    background = encode(halves((20, 20), (0, 0, 255), (255, 255, 0)), "JPEG")
    options = CutoutOptions(bg_image=ImageSource(data=background), format=OutputFormat.JPG)
    result = await imaging.render(picture(), mask(), options)
    out = opened(result.data)
    # 20 x 20 grows to 200 x 200 and keeps its middle rows: still blue left, yellow right.
    assert out.size == SCENE
    assert near(out.getpixel((10, 50)), (0, 0, 255), 30) and near(out.getpixel((190, 50)), (255, 255, 0), 30)


# -- shadow ---------------------------------------------------------------------------------------


def luminance(out: Image.Image) -> np.ndarray:
    return np.asarray(out.convert("L")).astype(int)


@pytest.mark.parametrize("kind", list(ShadowType))
async def test_the_shadow_falls_below_the_subject_and_never_above(imaging, kind):
    tall = Box(80, 10, 120, 70)  # 40 x 60: the shadow is 4 px down, 1 px right, blurred 1.2 px
    scene = Image.new("RGB", SCENE, (255, 255, 255))
    ImageDraw.Draw(scene).rectangle((80, 10, 119, 69), fill=RED)
    options = CutoutOptions(bg_color="white", shadow=Shadow(kind, 80), format=OutputFormat.PNG)
    plain = luminance(opened((await imaging.render(scene, mask(tall), CutoutOptions(bg_color="white"))).data))
    shaded = luminance(opened((await imaging.render(scene, mask(tall), options)).data))
    below = shaded[70:73, 85:118]  # just under the subject's bottom edge
    assert below.max() < 200 and plain[70:73, 85:118].min() == 255
    assert shaded[70:80, 85:118].mean() < shaded[80:, 85:118].mean()  # and it fades out further down
    assert shaded[:10].min() == 255  # nothing above the subject's top edge
    assert shaded[:, :78].min() == 255  # nor well to its left
    assert np.array_equal(shaded[10:70, 80:120], plain[10:70, 80:120])  # the subject is drawn over it


async def test_shadow_opacity_sets_how_dark(imaging):
    shades = {}
    for opacity in (0, 30, 90):
        options = CutoutOptions(bg_color="white", shadow=Shadow(ShadowType.DROP, opacity))
        out = opened((await imaging.render(picture(), mask(), options)).data)
        shades[opacity] = luminance(out)[60:64, 60:140].min()
    assert shades[0] == 255 > shades[30] > shades[90]


async def test_crop_keeps_the_whole_shadow(imaging):
    options = CutoutOptions(crop=True, shadow=Shadow())
    result = await imaging.render(picture(), mask(), options)
    out = opened(result.data)
    assert result.foreground is not None and result.foreground.top == 0
    assert out.height > SUBJECT.height  # room for the shade under the subject
    bottom = np.asarray(out.getchannel("A"))[SUBJECT.height :]
    assert bottom.max() > 0  # the shade is there, transparent black
    assert bottom[-1].max() < 8  # and fades out inside the crop


def turned_jpeg(im: Image.Image) -> bytes:
    """``im`` stored with EXIF orientation 6: a viewer turns it 90 degrees clockwise."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = BytesIO()
    im.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def test_probe_says_when_exif_turns_the_image(imaging):
    info = imaging.probe(turned_jpeg(Image.new("RGB", (80, 40), "red")))
    assert (info.width, info.height, info.turned, info.upright_size) == (80, 40, True, (40, 80))
    assert not imaging.probe(encode(Image.new("RGB", (80, 40)), "PNG")).turned


async def test_a_turned_background_image_covers_the_canvas_upright(imaging):
    # Stored 40 x 20, left half blue: upright it is 20 x 40 with blue on top. Covering 200 x 100 scales it
    # to 200 x 400 and keeps rows 150-250: blue above the middle, yellow below.
    background = turned_jpeg(halves((40, 20), (0, 0, 255), (255, 255, 0)))
    result = await imaging.render(picture(), mask(), CutoutOptions(bg_image=ImageSource(data=background)))
    out = opened(result.data).convert("RGB")
    assert near(out.getpixel((5, 5)), (0, 0, 255), 30) and near(out.getpixel((5, 95)), (255, 255, 0), 30)
