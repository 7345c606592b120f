"""Contract of the Pillow imaging adapter: what it accepts, refuses, decodes and renders.

Every image is drawn here with Pillow; nothing comes from the network.
"""

from __future__ import annotations

import struct
import time
import zlib
from io import BytesIO

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw

from adapters import imaging as imaging_module
from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from domain.cutouts import CutoutOptions, OutputFormat
from domain.errors import ImageTooLarge, InvalidImage, InvalidOption, UnknownForeground, UnsupportedFormat
from domain.geometry import CropMargin
from domain.ports import Imaging, Picture

# -- helpers --------------------------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buffer = BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Incompressible pixels, so a truncated file really misses pixel data."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims ``width`` x ``height`` (1-bit greyscale) with one compressed row."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(row)) + _chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) is patched to claim another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), "red"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def with_orientation(im: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, "JPEG", quality=95, exif=exif.tobytes())


def subject_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=255)
    return mask


def rendered(data: bytes) -> Image.Image:
    im = Image.open(BytesIO(data))
    im.load()
    return im


@pytest.fixture
def imaging() -> PillowImaging:
    return PillowImaging(CpuPool())


async def probe_and_decode(imaging: PillowImaging, data: bytes) -> Image.Image:
    info = imaging.probe(data)
    return await imaging.decode(data, (info.width, info.height))


# -- probe ----------------------------------------------------------------------------------------


def test_it_implements_the_imaging_port(imaging):
    port: Imaging = imaging  # checked structurally by type checkers
    for name in ("probe", "check_options", "decode", "render"):
        assert callable(getattr(port, name))


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "JPEG"), ("PNG", "PNG"), ("WEBP", "WEBP")])
def test_probe_reads_format_and_size(imaging, fmt, name):
    info = imaging.probe(encode(Image.new("RGB", (123, 45), "teal"), fmt))
    assert (info.format, info.width, info.height, info.pixels) == (name, 123, 45, 123 * 45)


def test_probe_reads_a_multi_picture_jpeg_as_jpeg(imaging):
    frames = [Image.new("RGB", (64, 48), "red"), Image.new("RGB", (64, 48), "blue")]
    data = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    assert Image.open(BytesIO(data)).format == "MPO"
    info = imaging.probe(data)
    assert (info.format, info.width, info.height) == ("JPEG", 64, 48)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is plain text and not an image at all\n" * 20,
        b'{"image": "no"}',
        bytes(range(256)) * 8,
        b"\xff\xd8\xff",  # the start of a JPEG and nothing more
        b"\x89PNG\r\n\x1a\n",  # the PNG signature alone
        b"RIFF\x00\x00\x00\x00WEBP",
    ],
    ids=["empty", "text", "json", "garbage", "jpeg-magic-only", "png-signature-only", "webp-riff-only"],
)
def test_probe_refuses_what_is_not_an_image(imaging, data):
    with pytest.raises(InvalidImage):
        imaging.probe(data)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO", "PPM"])
def test_probe_refuses_other_image_formats_as_unsupported(imaging, fmt):
    with pytest.raises(UnsupportedFormat):
        imaging.probe(encode(Image.new("RGB", (32, 32), "orange"), fmt))


@pytest.mark.parametrize(
    "svg",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>',
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- drawn by hand -->\n<SVG width="8" height="8"></SVG>',
    ],
)
def test_svg_is_an_unsupported_format(imaging, svg):
    with pytest.raises(UnsupportedFormat) as caught:
        imaging.probe(svg)
    assert caught.value.details["format"] == "SVG"


async def test_decode_refuses_other_image_formats_too(imaging):
    with pytest.raises(UnsupportedFormat):
        await imaging.decode(encode(Image.new("RGB", (32, 32), "orange"), "GIF"), (32, 32))


async def test_a_30000_by_30000_png_is_refused_from_its_header_in_milliseconds(imaging):
    data = png_header_only(30_000, 30_000)
    assert len(data) < 10_000
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge) as caught:
        imaging.probe(data)
    with pytest.raises(ImageTooLarge):
        await imaging.decode(data, (1000, 1000))
    assert time.perf_counter() - started < 10  # decoding 900 MP would take minutes and gigabytes
    assert caught.value.details == {"width": 30_000, "height": 30_000, "max_pixels": 50_000_000}


@pytest.mark.parametrize(
    "data",
    [png_header_only(10_000, 6_000), jpeg_claiming(10_000, 6_000), png_header_only(7_072, 7_072)],
    ids=["png-60mp", "jpeg-60mp", "png-just-over-50mp"],
)
async def test_more_than_50_megapixels_is_too_large(imaging, data):
    with pytest.raises(ImageTooLarge) as caught:
        imaging.probe(data)
    assert caught.value.details["max_pixels"] == 50_000_000
    assert caught.value.details["width"] * caught.value.details["height"] > 50_000_000
    with pytest.raises(ImageTooLarge):
        await imaging.decode(data, (100, 60))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_pillow_warns_about_is_too_large(imaging):
    with pytest.raises(ImageTooLarge):
        imaging.probe(png_header_only(12_000, 9_000))  # 108 MP: Pillow's warning range


def test_exactly_the_limit_is_allowed():
    imaging = PillowImaging(CpuPool(), max_pixels=100 * 60)
    assert imaging.probe(png_header_only(100, 60)).pixels == 6000
    with pytest.raises(ImageTooLarge):
        imaging.probe(png_header_only(101, 60))


def test_a_limit_above_pillows_own_is_refused_at_construction():
    with pytest.raises(ValueError):
        PillowImaging(CpuPool(), max_pixels=10**10)


# -- decode ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
async def test_a_truncated_file_is_invalid(imaging, fmt):
    data = encode(noise((256, 256)), fmt)
    with pytest.raises(InvalidImage):
        await probe_and_decode(imaging, data[: len(data) // 2])


async def test_decode_gives_an_rgb_picture_of_the_requested_size(imaging):
    data = encode(noise((400, 300)), "JPEG")
    picture = await imaging.decode(data, (200, 150))
    assert isinstance(picture, Picture)
    assert (picture.mode, picture.width, picture.height) == ("RGB", 200, 150)
    full = await imaging.decode(data, (400, 300))
    assert full.size == (400, 300)
    full.load()  # still usable after the adapter closed its file


async def test_decode_upscales_a_smaller_image_if_asked(imaging):
    picture = await imaging.decode(encode(Image.new("RGB", (10, 10), "red"), "PNG"), (20, 30))
    assert picture.size == (20, 30)


def _left_red_right_blue(size: tuple[int, int]) -> Image.Image:
    im = Image.new("RGB", size, (0, 0, 255))
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 2 - 1, size[1] - 1), fill=(255, 0, 0))
    return im


def _is_red(pixel) -> bool:
    return pixel[0] > 200 and pixel[2] < 60


def _is_blue(pixel) -> bool:
    return pixel[2] > 200 and pixel[0] < 60


@pytest.mark.parametrize("target", [(80, 40), (40, 20)], ids=["full", "scaled"])
async def test_exif_orientation_6_decodes_upright_with_swapped_size(imaging, target):
    data = with_orientation(_left_red_right_blue((80, 40)), 6)
    info = imaging.probe(data)
    assert (info.width, info.height) == (80, 40)  # the header's (stored) frame
    picture = await imaging.decode(data, target)
    assert picture.size == (target[1], target[0])
    # Orientation 6: turn 90 degrees clockwise to view, so the stored left half ends on top.
    assert _is_red(picture.getpixel((picture.width // 2, 2)))
    assert _is_blue(picture.getpixel((picture.width // 2, picture.height - 3)))


@pytest.mark.parametrize(
    ("orientation", "top_is_red", "size"),
    [(1, None, (80, 40)), (3, None, (80, 40)), (8, False, (40, 80))],
)
async def test_other_orientations(imaging, orientation, top_is_red, size):
    picture = await imaging.decode(with_orientation(_left_red_right_blue((80, 40)), orientation), (80, 40))
    assert picture.size == size
    if orientation == 1:
        assert _is_red(picture.getpixel((2, 20))) and _is_blue(picture.getpixel((77, 20)))
    elif orientation == 3:  # upside down: red ends on the right
        assert _is_blue(picture.getpixel((2, 20))) and _is_red(picture.getpixel((77, 20)))
    else:  # 8: turn counter-clockwise to view, the stored left half ends at the bottom
        assert _is_blue(picture.getpixel((20, 2))) and _is_red(picture.getpixel((20, 77)))


async def test_a_large_jpeg_decodes_to_a_small_size(imaging):
    data = encode(noise((1600, 1200)), "JPEG", quality=80)
    picture = await imaging.decode(data, (400, 300))
    assert picture.size == (400, 300)


async def test_cmyk_jpeg_decodes_to_rgb(imaging):
    data = encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG", quality=95)  # red in CMYK
    assert Image.open(BytesIO(data)).mode == "CMYK"
    picture = await probe_and_decode(imaging, data)
    assert picture.mode == "RGB"
    assert _is_red(picture.getpixel((20, 15)))


async def test_16_bit_png_decodes_to_rgb_scaled_to_8_bits(imaging):
    levels = np.full((30, 40), 32_896, dtype=np.uint16)  # mid grey
    levels[:, :20] = 65_535
    data = encode(Image.fromarray(levels), "PNG")
    assert Image.open(BytesIO(data)).mode.startswith("I")
    picture = await probe_and_decode(imaging, data)
    assert picture.mode == "RGB"
    assert picture.getpixel((5, 5)) == (255, 255, 255)
    assert picture.getpixel((30, 5)) == (128, 128, 128)


ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def png16(samples: np.ndarray, colour_type: int, interlaced: bool = False) -> bytes:
    """A PNG of 16 bits per sample (Pillow writes those for greyscale only, never interlaced): 0 grey,
    2 RGB, 4 grey and alpha, 6 RGBA; ``samples`` is (height, width[, channels]) of uint16."""
    height, width = samples.shape[:2]
    passes = [samples[y::dy, x::dx] for x, y, dx, dy in ADAM7] if interlaced else [samples]
    raw = b""
    for image in passes:
        rows = image.astype(">u2").reshape(image.shape[0], -1).view(np.uint8)
        raw += np.hstack([np.zeros((rows.shape[0], 1), np.uint8), rows]).tobytes()  # filter type 0
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, int(interlaced))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def _on_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    opacity = alpha[..., None].astype(float) / 255
    return rgb * opacity + 255 * (1 - opacity)


_rng = np.random.default_rng(16)
WHITE = (255, 255, 255)
W, H = 64, 48


def _levels(*channels: int, top: int = 256) -> np.ndarray:
    dtype = np.uint16 if top > 256 else np.uint8
    return _rng.integers(0, top, (H, W, *channels), dtype=np.uint32).astype(dtype)


def _grey(levels: np.ndarray) -> np.ndarray:
    return np.repeat(levels[..., None], 3, axis=-1).astype(float)


def _case_1():
    bits = _levels() > 127
    return encode(Image.fromarray(bits), "PNG"), _grey(bits * 255)


def _case_l():
    v = _levels()
    return encode(Image.fromarray(v, "L"), "PNG"), _grey(v)


def _case_la():
    v, a = _levels(), _levels()
    return encode(Image.fromarray(np.stack([v, a], -1), "LA"), "PNG"), _on_white(_grey(v), a)


def _case_p():
    index = _levels()
    palette = _rng.integers(0, 256, (256, 3), dtype=np.uint8)
    im = Image.fromarray(index, "P")
    im.putpalette(palette.tobytes())
    return encode(im, "PNG"), palette[index].astype(float)


def _case_rgb():
    rgb = _levels(3)
    return encode(Image.fromarray(rgb, "RGB"), "PNG"), rgb.astype(float)


def _case_rgba():
    rgba = _levels(4)
    return encode(Image.fromarray(rgba, "RGBA"), "PNG"), _on_white(rgba[..., :3], rgba[..., 3])


def _case_i16():
    s = _levels(top=65536)
    data = encode(Image.fromarray(s), "PNG")
    assert Image.open(BytesIO(data)).mode == "I;16"
    return data, _grey(s >> 8)


def _case_i16_interlaced():
    s = _levels(top=65536)
    return png16(s, 0, interlaced=True), _grey(s >> 8)


def _case_la16():
    s = _levels(2, top=65536)
    return png16(s, 4), _on_white(_grey(s[..., 0] >> 8), s[..., 1] >> 8)


def _case_rgb16():
    s = _levels(3, top=65536)
    return png16(s, 2), (s >> 8).astype(float)


def _case_rgba16():
    s = _levels(4, top=65536)
    return png16(s, 6), _on_white(s[..., :3] >> 8, s[..., 3] >> 8)


def _case_webp_rgba():
    rgba = _levels(4)
    data = encode(Image.fromarray(rgba, "RGBA"), "WEBP", lossless=True, exact=True)
    return data, _on_white(rgba[..., :3], rgba[..., 3])


def _smooth(channels: int) -> np.ndarray:
    """Ramps, which a JPEG keeps close to (unlike noise)."""
    x, y = np.meshgrid(np.linspace(0, 1, W), np.linspace(0, 1, H))
    planes = [x, y, (x + y) / 2, 1 - x][:channels]
    return (np.stack(planes, -1) * 255).round().astype(np.uint8)


def _jpeg_case(mode: str):
    im = Image.fromarray(_smooth(len(mode)).squeeze(), mode)
    data = encode(im, "JPEG", quality=95)
    assert Image.open(BytesIO(data)).mode == mode
    # The reference: Pillow's own full-size decode, without the adapter's shortcuts.
    return data, np.asarray(Image.open(BytesIO(data)).convert("RGB")).astype(float)


# Every mode the accepted formats open as ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"; 16-bit RGB, RGBA
# and grey-alpha PNGs come as "RGB" or "RGBA", already cut to their high bytes), against a reference
# computed here from the samples written, and the tolerance of rounding (and of JPEG) at full size.
DECODE_CASES = {
    "1": (_case_1, 0),
    "L": (_case_l, 0),
    "LA": (_case_la, 1),
    "P": (_case_p, 0),
    "RGB": (_case_rgb, 0),
    "RGBA": (_case_rgba, 1),
    "16-bit grey (I;16)": (_case_i16, 0),
    "16-bit grey, interlaced": (_case_i16_interlaced, 0),
    "16-bit grey and alpha": (_case_la16, 1),
    "16-bit RGB": (_case_rgb16, 0),
    "16-bit RGBA": (_case_rgba16, 1),
    "WebP RGBA": (_case_webp_rgba, 1),
    "JPEG L": (lambda: _jpeg_case("L"), 0),
    "JPEG RGB": (lambda: _jpeg_case("RGB"), 0),
    "JPEG CMYK": (lambda: _jpeg_case("CMYK"), 0),
}


@pytest.mark.parametrize("case", list(DECODE_CASES))
async def test_every_mode_decodes_to_its_reference_at_full_size_and_scaled(imaging, case):
    make, tolerance = DECODE_CASES[case]
    data, reference = make()
    picture = await probe_and_decode(imaging, data)
    assert (picture.mode, picture.size) == ("RGB", (W, H))
    assert np.abs(np.asarray(picture).astype(float) - reference).max() <= tolerance + 0.5

    # Scaled: as the full-size reference scaled alike (resampling before or after the conversion to
    # RGB, and libjpeg's own scaling, differ from it by rounding and by a little blur only).
    # Halved, then an eighth (box-reduced by 2 first, in bands: W is 64, H 48 rows against bands of 256,
    # so the bands are checked by the 600-row cases below and by the robustness suite's 49 MP one).
    for size in ((W // 2, H // 2), (W // 8, H // 8)):
        scaled = await imaging.decode(data, size)
        assert (scaled.mode, scaled.size) == ("RGB", size)
        expected = Image.fromarray(reference.round().astype(np.uint8), "RGB").resize(
            size, Image.Resampling.BILINEAR, reducing_gap=3.0
        )
        difference = np.abs(np.asarray(scaled).astype(int) - np.asarray(expected).astype(int))
        assert difference.max() <= (8 if case.startswith("JPEG") else 3), (size, difference.max())


@pytest.mark.parametrize("mode", ["L", "P", "RGBA"])
@pytest.mark.parametrize("size", [(9, 20), (30, 190), (45, 601)], ids=["by 10", "by 3", "full"])
async def test_a_tall_picture_converted_in_bands_is_one_picture(imaging, mode, size):
    """601 rows: three bands, the last one not a whole number of reduced blocks high."""
    rgba = _rng.integers(0, 256, (601, 91, 4), dtype=np.uint8)
    source = Image.fromarray(rgba, "RGBA")
    source = source.convert(mode) if mode != "P" else source.convert("RGB").quantize(64)
    reference = source.convert("RGBA")
    flat = Image.new("RGB", reference.size, WHITE)
    flat.paste(reference, mask=reference.getchannel("A"))
    expected = flat.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    picture = await imaging.decode(encode(source, "PNG"), size)
    difference = np.abs(np.asarray(picture).astype(int) - np.asarray(expected).astype(int))
    assert picture.size == size and difference.max() <= 2, difference.max()


async def test_a_16_bit_png_decodes_as_8_bits_without_the_decoder_shortcut_too(imaging, monkeypatch):
    """Should Pillow's PNG tile ever change shape, the wide picture is narrowed a band at a time."""
    monkeypatch.setattr(imaging_module, "_decode_sixteen_bit_grey_as_eight", lambda im: None)
    levels = _rng.integers(0, 65536, (600, 70), dtype=np.uint32).astype(np.uint16)  # more rows than a band
    picture = await probe_and_decode(imaging, encode(Image.fromarray(levels), "PNG"))
    assert np.array_equal(np.asarray(picture), _grey(levels >> 8))


@pytest.mark.parametrize(
    ("mode", "levels", "expected"),
    [
        ("I", [0, 200, 255], [0, 200, 255]),  # 32-bit levels within 0..255 are 8-bit levels
        ("I", [0, 32_896, 65_535], [0, 128, 255]),  # above 255: 16-bit levels
        ("F", [-5.0, 100.4, 300.0], [0, 100, 255]),  # floats clipped, as Pillow converts them
    ],
)
def test_wide_modes_narrow_to_8_bits(mode, levels, expected):
    """What no accepted format decodes to in Pillow 12, but what older Pillows gave for 16-bit PNGs."""
    dtype = np.float32 if mode == "F" else np.int32
    wide = Image.fromarray(np.repeat(np.array([levels], dtype=dtype), 600, axis=0), mode)  # more than a band
    picture = imaging_module._rgb_of_size(wide, wide.size)
    assert np.array_equal(np.asarray(picture), _grey(np.repeat(np.array([expected]), 600, axis=0)))


async def test_palette_png_with_transparency_decodes_to_rgb_on_white(imaging):
    im = Image.new("P", (40, 30), 0)
    im.putpalette([0, 0, 0, 200, 0, 0] + [0] * (254 * 3))
    ImageDraw.Draw(im).rectangle((0, 0, 19, 29), fill=1)
    data = encode(im, "PNG", transparency=0)
    picture = await probe_and_decode(imaging, data)
    assert picture.mode == "RGB"
    assert picture.getpixel((5, 5)) == (200, 0, 0)
    assert picture.getpixel((30, 5)) == (255, 255, 255)  # transparent black became white


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
async def test_alpha_is_flattened_onto_white(imaging, mode):
    im = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((0, 0, 19, 29), fill=(10, 10, 10, 255))
    data = encode(im.convert(mode), "PNG")
    picture = await probe_and_decode(imaging, data)
    assert picture.mode == "RGB"
    assert picture.getpixel((5, 5)) == (10, 10, 10)
    assert picture.getpixel((30, 5)) == (255, 255, 255)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_an_animated_image_gives_its_first_frame(imaging, fmt):
    frames = [Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    picture = await probe_and_decode(imaging, data)
    assert picture.size == (40, 30)
    assert _is_red(picture.getpixel((20, 15)))


async def test_greyscale_jpeg_decodes_to_rgb(imaging):
    picture = await probe_and_decode(imaging, encode(Image.new("L", (40, 30), 90), "JPEG"))
    assert picture.mode == "RGB"
    assert picture.getpixel((5, 5)) == (90, 90, 90)


# -- render ---------------------------------------------------------------------------------------

SCENE = (200, 100)
SUBJECT = (50, 20, 150, 60)  # 100 x 40
GREEN = (0, 160, 0)


def scene_picture() -> Image.Image:
    return Image.new("RGB", SCENE, GREEN)


def scene_mask() -> Image.Image:
    mask = subject_mask(SCENE, SUBJECT)
    ImageDraw.Draw(mask).rectangle((160, 70, 199, 99), fill=12)  # faint: below the crop threshold
    return mask


async def test_png_has_the_mask_as_alpha(imaging):
    mask = Image.linear_gradient("L").resize(SCENE)
    result = await imaging.render(scene_picture(), mask, CutoutOptions())
    assert result.media_type == "image/png"
    assert (result.width, result.height) == SCENE
    out = rendered(result.data)
    assert (out.format, out.mode, out.size) == ("PNG", "RGBA", SCENE)
    assert np.array_equal(np.asarray(out.getchannel("A")), np.asarray(mask))
    assert out.getpixel((100, 99))[:3] == GREEN


async def test_png_keeps_the_colour_of_visible_pixels_and_blacks_out_invisible_ones(imaging):
    picture = noise(SCENE)
    mask = Image.new("L", SCENE, 0)
    mask.paste(128, (0, 0, 100, 100))
    mask.paste(255, (100, 0, 150, 100))
    out = np.asarray(rendered((await imaging.render(picture, mask, CutoutOptions())).data))
    visible = np.asarray(mask) > 0
    assert np.array_equal(out[..., :3][visible], np.asarray(picture)[visible])
    assert not out[~visible].any()  # alpha 0 and no colour


async def test_render_leaves_the_picture_as_it_was(imaging):
    picture = scene_picture()
    await imaging.render(picture, scene_mask(), CutoutOptions(crop=True))
    assert (picture.mode, picture.size) == ("RGB", SCENE)


@pytest.mark.parametrize(
    ("margin", "box"),
    [
        (None, (50, 20, 150, 60)),
        ("10px", (40, 10, 160, 70)),
        ("10%", (40, 16, 160, 64)),  # 10 % of 100 wide, 10 % of 40 high
        ("5px 10%", (40, 15, 160, 65)),
        ("5px 10% 20px 0", (50, 15, 160, 80)),  # top right bottom left
        ("25%", (25, 10, 175, 70)),
    ],
)
async def test_crop_to_the_subject_with_margins(imaging, margin, box):
    options = CutoutOptions(crop=True, crop_margin=CropMargin.parse(margin))
    result = await imaging.render(scene_picture(), scene_mask(), options)
    out = rendered(result.data)
    width, height = box[2] - box[0], box[3] - box[1]
    assert (result.width, result.height) == out.size == (width, height)
    alpha = np.asarray(out.getchannel("A"))
    expected = np.zeros((height, width), dtype=np.uint8)
    sub = (SUBJECT[0] - box[0], SUBJECT[1] - box[1], SUBJECT[2] - box[0], SUBJECT[3] - box[1])
    expected[sub[1] : sub[3], sub[0] : sub[2]] = 255
    if box[2] > 160 and box[3] > 70:  # the faint patch is inside the margin: it stays, faint
        expected[70 - box[1] : box[3] - box[1], 160 - box[0] : box[2] - box[0]] = 12
    assert np.array_equal(alpha, expected)


async def test_a_margin_beyond_the_edge_pads_with_transparency(imaging):
    options = CutoutOptions(crop=True, crop_margin=CropMargin.parse("100px"))
    result = await imaging.render(scene_picture(), scene_mask(), options)
    out = rendered(result.data)
    assert out.size == (100 + 200, 40 + 200)
    assert out.getpixel((0, 0))[3] == 0
    assert out.getpixel((out.width - 1, out.height - 1))[3] == 0
    assert out.getpixel((150, 120)) == (*GREEN, 255)  # the subject's centre


@pytest.mark.parametrize("crop", [False, True])
async def test_a_mask_without_subject_is_an_unknown_foreground(imaging, crop):
    faint = Image.new("L", SCENE, 20)  # nothing above the subject threshold
    with pytest.raises(UnknownForeground):
        await imaging.render(scene_picture(), faint, CutoutOptions(crop=crop))


@pytest.mark.parametrize(
    ("bg_color", "rgb"),
    [
        ("#ff0000", (255, 0, 0)),
        ("00ff00", (0, 255, 0)),
        ("f0f", (255, 0, 255)),
        ("navy", (0, 0, 128)),
        ("#abcdefff", (0xAB, 0xCD, 0xEF)),
    ],
)
@pytest.mark.parametrize("fmt", [OutputFormat.PNG, OutputFormat.WEBP])
async def test_bg_color_flattens(imaging, bg_color, rgb, fmt):
    options = CutoutOptions(format=fmt, bg_color=bg_color, crop=True, crop_margin=CropMargin.parse("10px"))
    result = await imaging.render(scene_picture(), scene_mask(), options)
    out = rendered(result.data).convert("RGBA")
    assert out.getextrema()[3] == (255, 255)
    corner, centre = out.getpixel((1, 1)), out.getpixel((60, 30))
    tolerance = 0 if fmt is OutputFormat.PNG else 6  # WebP is lossy
    assert max(abs(a - b) for a, b in zip(corner[:3], rgb, strict=True)) <= tolerance
    assert max(abs(a - b) for a, b in zip(centre[:3], GREEN, strict=True)) <= tolerance


async def test_a_translucent_bg_color_keeps_its_alpha(imaging):
    result = await imaging.render(scene_picture(), scene_mask(), CutoutOptions(bg_color="0000ff80"))
    out = rendered(result.data)
    assert out.mode == "RGBA"
    assert out.getpixel((1, 1)) == (0, 0, 255, 0x80)
    assert out.getpixel((100, 40)) == (*GREEN, 255)


async def test_jpg_has_no_alpha_and_a_white_background(imaging):
    result = await imaging.render(scene_picture(), scene_mask(), CutoutOptions(format=OutputFormat.JPG))
    assert result.media_type == "image/jpeg"
    out = rendered(result.data)
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", SCENE)
    assert all(c > 245 for c in out.getpixel((2, 2)))
    assert max(abs(a - b) for a, b in zip(out.getpixel((100, 40)), GREEN, strict=True)) <= 8


async def test_jpg_takes_the_bg_color(imaging):
    options = CutoutOptions(format=OutputFormat.JPG, bg_color="red")
    out = rendered((await imaging.render(scene_picture(), scene_mask(), options)).data)
    assert _is_red(out.getpixel((2, 2)))


@pytest.mark.parametrize("bg_color", [None, "336699"])  # RGBA, and RGB flattened onto an opaque colour
async def test_png_keeps_the_colour_profile_of_the_source(imaging, bg_color):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    data = encode(noise((64, 48)), "JPEG", quality=95, icc_profile=profile)
    picture = await imaging.decode(data, (64, 48))
    mask = Image.new("L", (64, 48), 255)
    result = await imaging.render(picture, mask, CutoutOptions(bg_color=bg_color))
    out = Image.open(BytesIO(result.data))
    assert out.info.get("icc_profile") == profile
    assert np.array_equal(np.asarray(out.convert("RGB")), np.asarray(picture))


async def test_webp_keeps_alpha(imaging):
    result = await imaging.render(scene_picture(), scene_mask(), CutoutOptions(format=OutputFormat.WEBP))
    assert result.media_type == "image/webp"
    out = rendered(result.data)
    assert (out.format, out.mode, out.size) == ("WEBP", "RGBA", SCENE)
    assert out.getpixel((2, 2))[3] < 8
    assert out.getpixel((100, 40))[3] > 247


async def test_a_mask_of_another_size_is_scaled_to_the_picture(imaging):
    result = await imaging.render(scene_picture(), subject_mask((100, 50), (25, 10, 75, 30)), CutoutOptions())
    assert (result.width, result.height) == SCENE


@pytest.mark.parametrize(
    "bg_color", ["#ff0000", "ff0000", "F00", "#f00a", "81d4fa80", "red", "RebeccaPurple", None, ""]
)
def test_valid_bg_colors(imaging, bg_color):
    imaging.check_options(CutoutOptions(bg_color=bg_color))


@pytest.mark.parametrize("bg_color", ["#12345", "12345g", "nosuchcolour", "#", "rgb(1,2,3)", "red;", "#ff00ff00ff"])
def test_an_invalid_bg_color_is_an_invalid_option(imaging, bg_color):
    with pytest.raises(InvalidOption) as caught:
        imaging.check_options(CutoutOptions(bg_color=bg_color))
    assert caught.value.details == {"field": "bg_color"}
