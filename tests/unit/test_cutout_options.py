"""The option value objects: remove.bg's spellings in, checked values out."""

from __future__ import annotations

import pytest

from domain.cutouts import (
    CutoutOptions,
    ForegroundType,
    ImageInfo,
    ImageSource,
    OutputFormat,
    Shadow,
    ShadowType,
    TypeLevel,
    reported_type,
)
from domain.errors import InvalidOption, MultipleBackgrounds, RoiExceedsBounds, RoiRegionEmpty
from domain.geometry import Box, Length, Placement, Roi
from domain.pricing import SizeChoice, output_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("preview", SizeChoice.PREVIEW),
        ("small", SizeChoice.PREVIEW),
        ("Regular", SizeChoice.PREVIEW),
        ("medium", SizeChoice.MEDIUM),
        ("hd", SizeChoice.HD),
        ("full", SizeChoice.FULL),
        ("4k", SizeChoice.FULL),
        ("50MP", SizeChoice.MP50),
        ("auto", SizeChoice.AUTO),
    ],
)
def test_size_names_and_aliases(text: str, size: SizeChoice) -> None:
    assert SizeChoice.parse(text) is size


def test_an_unknown_size_names_its_field() -> None:
    with pytest.raises(InvalidOption) as caught:
        SizeChoice.parse("huge")
    assert caught.value.details == {"field": "size"}


@pytest.mark.parametrize(
    ("size", "pixels"),
    [
        (SizeChoice.PREVIEW, 250_000),
        (SizeChoice.MEDIUM, 1_500_000),
        (SizeChoice.HD, 4_000_000),
        (SizeChoice.FULL, 25_000_000),
        (SizeChoice.MP50, 50_000_000),
    ],
)
def test_each_size_caps_the_result(size: SizeChoice, pixels: int) -> None:
    width, height = output_size(8000, 6250, size, balance=0)  # a 50 MP input
    assert pixels * 0.99 < width * height <= pixels
    assert abs(width / height - 8000 / 6250) < 0.01
    assert output_size(400, 300, size, balance=0) == (400, 300)  # never enlarged


def test_auto_is_up_to_25_megapixels_with_credits_else_a_preview() -> None:
    width, height = output_size(8000, 6250, SizeChoice.AUTO, balance=1)
    assert 24_750_000 < width * height <= 25_000_000
    assert output_size(4000, 3000, SizeChoice.AUTO, balance=1) == (4000, 3000)
    assert output_size(4000, 3000, SizeChoice.AUTO, balance=0) == (577, 433)


@pytest.mark.parametrize(
    ("text", "fmt"), [("auto", OutputFormat.AUTO), ("PNG", OutputFormat.PNG), ("jpeg", OutputFormat.JPG)]
)
def test_formats(text: str, fmt: OutputFormat) -> None:
    assert OutputFormat.parse(text) is fmt
    assert OutputFormat.ZIP.media_type == "application/zip"


def test_an_unknown_format_names_its_field() -> None:
    with pytest.raises(InvalidOption) as caught:
        OutputFormat.parse("gif")
    assert caught.value.details == {"field": "format"}


# -- roi ------------------------------------------------------------------------------------------


def test_roi_reads_pixels_and_percentages() -> None:
    roi = Roi.parse("10px 20% 300 100%")
    assert roi == Roi(Length(10), Length(20, True), Length(300), Length(100, True))
    assert roi.box(400, 200) == Box(10, 40, 300, 200)
    assert Roi.parse("") is None and Roi.parse(None) is None


@pytest.mark.parametrize("text", ["1 2 3", "a b c d", "10em 0 5 5", "-5 0 10 10"])
def test_a_malformed_roi_is_invalid(text: str) -> None:
    with pytest.raises(InvalidOption) as caught:
        Roi.parse(text)
    assert caught.value.code == "invalid_option" and caught.value.details["field"] == "roi"


def test_a_roi_beyond_100_percent_exceeds_the_bounds() -> None:
    with pytest.raises(RoiExceedsBounds):
        Roi.parse("0% 0% 101% 50%")


def parsed_roi(text: str) -> Roi:
    roi = Roi.parse(text)
    assert roi is not None
    return roi


def test_relative_to_checks_bounds_and_emptiness_and_survives_resizing() -> None:
    relative = parsed_roi("100px 50px 300px 150px").relative_to(400, 200)
    assert relative.box(400, 200) == Box(100, 50, 300, 150)
    assert relative.box(200, 100) == Box(50, 25, 150, 75)  # the same region of a half-size result
    with pytest.raises(RoiExceedsBounds):
        parsed_roi("0 0 401px 10px").relative_to(400, 200)
    with pytest.raises(RoiRegionEmpty):
        parsed_roi("50% 0% 50% 100%").relative_to(400, 200)
    with pytest.raises(RoiRegionEmpty):
        parsed_roi("300px 0 100px 200px").relative_to(400, 200)


def test_the_upright_size_swaps_for_turned_images() -> None:
    assert ImageInfo("JPEG", 400, 300, turned=True).upright_size == (300, 400)
    assert ImageInfo("JPEG", 400, 300).upright_size == (400, 300)


# -- scale and position ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "position", "expected"),
    [
        (None, None, Placement()),
        ("original", "original", Placement()),
        ("50%", None, Placement(0.5, None)),
        (80, "center", Placement(0.8, (0.5, 0.5))),
        (None, "10%", Placement(None, (0.1, 0.1))),
        ("100%", "0% 100%", Placement(1.0, (0.0, 1.0))),
    ],
)
def test_placement_parses_remove_bg_spellings(scale: object, position: object, expected: Placement) -> None:
    assert Placement.parse(scale, position) == expected


@pytest.mark.parametrize(
    ("scale", "position", "field"),
    [
        ("5%", None, "scale"),
        ("101%", None, "scale"),
        ("big", None, "scale"),
        (None, "left", "position"),
        (None, "1 2 3", "position"),
        (None, "120%", "position"),
    ],
)
def test_placement_refuses(scale: object, position: object, field: str) -> None:
    with pytest.raises(InvalidOption) as caught:
        Placement.parse(scale, position)
    assert caught.value.details["field"] == field


def test_place_fits_the_scaled_subject_and_positions_it() -> None:
    subject = Box(0, 0, 100, 50)
    assert Placement(0.5, None).place(subject, (400, 400)) == (2.0, Box(100, 150, 300, 250))
    assert Placement(None, (1.0, 0.0)).place(subject, (400, 400)) == (1.0, Box(300, 0, 400, 50))
    assert not Placement().moves and Placement(None, (0.5, 0.5)).moves


# -- shadow, type, backgrounds --------------------------------------------------------------------


def test_shadow_is_on_with_add_shadow_or_a_type() -> None:
    assert Shadow.parse(False, None, None) is None
    assert Shadow.parse(False, None, "80") is None  # opacity alone does not draw one
    assert Shadow.parse(True, None, None) == Shadow(ShadowType.DROP, 50)
    assert Shadow.parse(False, "3D", 20) == Shadow(ShadowType.THREE_D, 20)
    assert Shadow.parse(True, "car", "0") == Shadow(ShadowType.CAR, 0)


@pytest.mark.parametrize(
    ("shadow_type", "opacity", "field"),
    [("soft", None, "shadow_type"), (None, "101", "shadow_opacity"), (None, "x", "shadow_opacity")],
)
def test_shadow_refuses(shadow_type: str | None, opacity: str | None, field: str) -> None:
    with pytest.raises(InvalidOption) as caught:
        Shadow.parse(True, shadow_type, opacity)
    assert caught.value.details["field"] == field


@pytest.mark.parametrize(
    ("requested", "level", "reported"),
    [
        (ForegroundType.AUTO, TypeLevel.COARSE, "other"),
        (ForegroundType.PERSON, TypeLevel.COARSE, "person"),
        (ForegroundType.ANIMAL, TypeLevel.FINE, "animal"),
        (ForegroundType.GRAPHIC, TypeLevel.COARSE, "other"),
        (ForegroundType.GRAPHIC, TypeLevel.LATEST, "graphics"),
        (ForegroundType.TRANSPORTATION, TypeLevel.FINE, "transportation"),
        (ForegroundType.CAR, TypeLevel.NONE, None),
    ],
)
def test_reported_type(requested: ForegroundType, level: TypeLevel, reported: str | None) -> None:
    assert reported_type(requested, level) == reported


def test_a_colour_and_an_image_background_exclude_each_other() -> None:
    with pytest.raises(MultipleBackgrounds) as caught:
        CutoutOptions(bg_color="red", bg_image=ImageSource(url="https://x.example/b.jpg"))
    assert caught.value.code == "multiple_bg_sources"
