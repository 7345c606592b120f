"""Signed-out previews, and the plans that the pricing page and the API share."""

from __future__ import annotations

import pytest
from fakes import FakeClock, FakeFetcher, FakeImaging, FakeRemover, FakeUnitOfWorkFactory, fake_image

from domain.cutouts import CutoutOptions, ImageSource
from domain.errors import Unauthorized
from domain.pipeline import CutoutPipeline
from domain.plans import PlanKind, catalogue
from domain.pricing import PREVIEW_MAX_PIXELS, SizeChoice
from domain.use_cases.previews import AnonymousPreview
from domain.use_cases.remove_background import RemoveBackground

PHOTO = ImageSource(data=fake_image(4000, 3000))
PREVIEW = CutoutOptions(size=SizeChoice.PREVIEW)


def preview(uow: FakeUnitOfWorkFactory, clock: FakeClock, remover: FakeRemover) -> AnonymousPreview:
    remove = RemoveBackground(uow, CutoutPipeline(FakeImaging(), remover, FakeFetcher()), clock)
    return AnonymousPreview(remove)


async def test_a_signed_out_preview_is_small_and_free(uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    result = await preview(uow, clock, FakeRemover())(PHOTO, PREVIEW)
    assert result.credits_charged == 0
    assert result.image.width * result.image.height <= PREVIEW_MAX_PIXELS
    assert uow.db.jobs == {} and uow.db.ledger == []


@pytest.mark.parametrize("size", [SizeChoice.FULL, SizeChoice.AUTO])
async def test_anything_but_a_preview_needs_an_account(
    uow: FakeUnitOfWorkFactory, clock: FakeClock, size: SizeChoice
) -> None:
    remover = FakeRemover()
    with pytest.raises(Unauthorized):
        await preview(uow, clock, remover)(PHOTO, CutoutOptions(size=size))
    with pytest.raises(Unauthorized):  # and the use case itself never works for nobody at full size
        remove = RemoveBackground(uow, CutoutPipeline(FakeImaging(), remover, FakeFetcher()), clock)
        await remove(None, PHOTO, CutoutOptions(size=size))
    assert remover.calls == 0


def test_the_catalogue() -> None:
    plans = catalogue(signup_credits=3)
    assert [p.kind for p in plans] == [PlanKind.FREE, PlanKind.PACK, PlanKind.PACK, PlanKind.SUBSCRIPTION]
    assert len({p.id for p in plans}) == len(plans)
    free = plans[0]
    assert (free.credits, free.price_cents, free.price_per_credit_cents) == (3, 0, None)
    packs = [p for p in plans if p.kind is PlanKind.PACK]
    cheaper_by_the_credit = [p.price_per_credit_cents for p in packs]
    assert cheaper_by_the_credit[0] is not None and cheaper_by_the_credit[1] is not None
    assert cheaper_by_the_credit[0] > cheaper_by_the_credit[1]
    assert not any(p.purchasable for p in plans)  # no payment provider yet
    assert catalogue(signup_credits=10)[0].credits == 10
