from __future__ import annotations

import pytest

from domain.cutouts import ImageSource, OutputFormat
from domain.errors import InvalidOption, MissingSource
from domain.geometry import CropMargin, Length
from domain.pricing import PREVIEW_MAX_PIXELS, SizeChoice, fit_within, output_size, price


@pytest.mark.parametrize(
    ("pixels", "cost"), [(1, 0), (PREVIEW_MAX_PIXELS, 0), (PREVIEW_MAX_PIXELS + 1, 1), (50_000_000, 1)]
)
def test_a_result_up_to_a_quarter_megapixel_is_free(pixels: int, cost: int) -> None:
    assert price(pixels) == cost


@pytest.mark.parametrize(("w", "h"), [(4000, 3000), (3000, 4000), (10000, 10), (501, 500), (1, 300000)])
def test_fit_within_keeps_aspect_and_stays_under_the_limit(w: int, h: int) -> None:
    fw, fh = fit_within(w, h, PREVIEW_MAX_PIXELS)
    assert fw * fh <= PREVIEW_MAX_PIXELS
    assert fw >= 1 and fh >= 1
    assert abs(fw / fh - w / h) / (w / h) < 0.02 or min(fw, fh) < 5


def test_fit_within_leaves_small_images_alone() -> None:
    assert fit_within(400, 300, PREVIEW_MAX_PIXELS) == (400, 300)


def test_output_size_by_choice_and_balance() -> None:
    assert output_size(4000, 3000, SizeChoice.FULL, 0) == (4000, 3000)
    assert output_size(4000, 3000, SizeChoice.PREVIEW, 10) == (577, 433)
    assert output_size(4000, 3000, SizeChoice.AUTO, 1) == (4000, 3000)
    assert output_size(4000, 3000, SizeChoice.AUTO, 0) == (577, 433)


def test_crop_margin_forms() -> None:
    assert CropMargin.parse(None) == CropMargin()
    assert CropMargin.parse("30px") == CropMargin(*[Length(30)] * 4)
    assert CropMargin.parse("10%").left == Length(10, percent=True)
    two = CropMargin.parse("10px 20%")
    assert (two.top, two.right, two.bottom, two.left) == (Length(10), Length(20, True), Length(10), Length(20, True))
    four = CropMargin.parse("1 2 3 4")
    assert [four.top.value, four.right.value, four.bottom.value, four.left.value] == [1, 2, 3, 4]
    assert Length(10, percent=True).pixels(250) == 25


@pytest.mark.parametrize("bad", ["501px", "51%", "-3px", "10em", "1 2 3", "px"])
def test_crop_margin_rejects(bad: str) -> None:
    with pytest.raises(InvalidOption):
        CropMargin.parse(bad)


def test_image_source_needs_exactly_one() -> None:
    with pytest.raises(MissingSource):
        ImageSource()
    with pytest.raises(MissingSource):
        ImageSource(data=b"x", url="http://x")
    assert ImageSource(url="http://x").url == "http://x"


def test_output_formats() -> None:
    assert OutputFormat.JPG.media_type == "image/jpeg" and not OutputFormat.JPG.has_alpha
    assert OutputFormat.WEBP.has_alpha
