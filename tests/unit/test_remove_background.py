from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from fakes import FakeClock, FakeFetcher, FakeHasher, FakeImaging, FakeRemover, FakeUnitOfWorkFactory, fake_image

from domain.credits import LedgerKind
from domain.cutouts import CutoutOptions, ForegroundType, ImageSource, OutputFormat, RenderedImage, TypeLevel
from domain.errors import (
    InferenceFailed,
    InsufficientCredits,
    InvalidImage,
    InvalidOption,
    RoiExceedsBounds,
    UnknownForeground,
    UrlNotAllowed,
)
from domain.geometry import Box, Roi
from domain.jobs import JobStatus
from domain.pipeline import CutoutPipeline
from domain.ports import Mask, Picture
from domain.pricing import SizeChoice
from domain.use_cases.accounts import SignUp
from domain.use_cases.queue import ReclaimExpiredLeases
from domain.use_cases.remove_background import RemoveBackground
from domain.users import User

BIG = fake_image(4000, 3000)
FULL = CutoutOptions(size=SizeChoice.FULL)
PREVIEW = CutoutOptions(size=SizeChoice.PREVIEW)


@pytest.fixture
async def user(uow: FakeUnitOfWorkFactory, hasher: FakeHasher, clock: FakeClock) -> User:
    return await SignUp(uow, hasher, clock, signup_credits=3)("ada@example.com", "correct horse")


@pytest.fixture
def remove(
    uow: FakeUnitOfWorkFactory, imaging: FakeImaging, remover: FakeRemover, fetcher: FakeFetcher, clock: FakeClock
) -> RemoveBackground:
    return RemoveBackground(uow, CutoutPipeline(imaging, remover, fetcher), clock)


def ledger_sum(uow: FakeUnitOfWorkFactory, user: User) -> int:
    return sum(e.delta for e in uow.db.ledger if e.user_id == user.id)


async def test_full_size_costs_one_credit_and_records_a_finished_job(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    result = await remove(user, ImageSource(data=BIG), FULL)
    assert result.credits_charged == 1
    assert (result.image.width, result.image.height) == (4000, 3000)
    assert uow.db.balances[user.id] == 2 == ledger_sum(uow, user)
    [job] = uow.db.jobs.values()
    assert job.status is JobStatus.SUCCEEDED and job.credits_reserved == 1


async def test_preview_is_free_and_fits_a_quarter_megapixel(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    result = await remove(user, ImageSource(data=BIG), PREVIEW)
    assert result.credits_charged == 0
    assert result.image.width * result.image.height <= 250_000
    assert uow.db.balances[user.id] == 3 and uow.db.jobs == {}


async def test_a_small_image_at_full_size_is_free(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    result = await remove(user, ImageSource(data=fake_image(500, 500)), FULL)
    assert result.credits_charged == 0 and uow.db.balances[user.id] == 3


async def test_auto_is_full_while_credits_last_then_preview(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    charged = [(await remove(user, ImageSource(data=BIG), CutoutOptions())).credits_charged for _ in range(4)]
    assert charged == [1, 1, 1, 0]
    assert uow.db.balances[user.id] == 0


async def test_short_balance_is_402_and_books_nothing(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    for _ in range(3):
        await remove(user, ImageSource(data=BIG), FULL)
    with pytest.raises(InsufficientCredits):
        await remove(user, ImageSource(data=BIG), FULL)
    assert uow.db.balances[user.id] == 0 == ledger_sum(uow, user)
    assert len(uow.db.jobs) == 3


async def test_a_failed_cutout_refunds_its_credit(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory, remover: FakeRemover
) -> None:
    remover.error = RuntimeError("model exploded")
    with pytest.raises(InferenceFailed):
        await remove(user, ImageSource(data=BIG), FULL)
    assert uow.db.balances[user.id] == 3 == ledger_sum(uow, user)
    [job] = uow.db.jobs.values()
    assert job.status is JobStatus.FAILED and job.error_code == "inference_failed"
    kinds = [e.kind for e in uow.db.ledger]
    assert kinds.count(LedgerKind.CHARGE) == kinds.count(LedgerKind.REFUND) == 1


async def test_a_timeout_refunds_too(
    uow: FakeUnitOfWorkFactory, imaging: FakeImaging, fetcher: FakeFetcher, clock: FakeClock, user: User
) -> None:
    class SlowRemover(FakeRemover):
        async def mask(self, picture: Picture) -> Mask:
            await asyncio.sleep(5)
            return await super().mask(picture)

    pipeline = CutoutPipeline(imaging, SlowRemover(), fetcher)
    remove = RemoveBackground(uow, pipeline, clock, deadline=timedelta(milliseconds=50))
    with pytest.raises(InferenceFailed):
        await remove(user, ImageSource(data=BIG), FULL)
    assert uow.db.balances[user.id] == 3


async def test_bad_input_is_refused_before_any_credit_moves(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory, remover: FakeRemover
) -> None:
    with pytest.raises(InvalidImage):
        await remove(user, ImageSource(data=b"hello"), FULL)
    with pytest.raises(InvalidOption):
        await remove(user, ImageSource(data=BIG), CutoutOptions(size=SizeChoice.FULL, bg_color="not a colour"))
    with pytest.raises(UrlNotAllowed):
        await remove(user, ImageSource(url="http://127.0.0.1/x.png"), FULL)
    assert remover.calls == 0 and len(uow.db.ledger) == 1 and uow.db.jobs == {}


async def test_url_sources_are_fetched(
    remove: RemoveBackground, user: User, fetcher: FakeFetcher, imaging: FakeImaging
) -> None:
    fetcher.pages["https://images.example/cat.jpg"] = BIG
    result = await remove(
        user, ImageSource(url="https://images.example/cat.jpg"), CutoutOptions(format=OutputFormat.WEBP)
    )
    assert result.image.media_type == "image/webp" and result.credits_charged == 1
    assert imaging.rendered[0][1].format is OutputFormat.WEBP


async def test_concurrent_requests_never_overdraw(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory
) -> None:
    results = await asyncio.gather(
        *(remove(user, ImageSource(data=BIG), FULL) for _ in range(20)), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 3
    assert all(isinstance(r, InsufficientCredits) for r in results if isinstance(r, Exception))
    assert uow.db.balances[user.id] == 0 == ledger_sum(uow, user)


async def test_the_reaper_refunds_jobs_whose_process_died(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    job = await remove._reserve(user, FULL, 1)  # a process that reserved, then died
    assert uow.db.balances[user.id] == 2
    reclaim = ReclaimExpiredLeases(uow, clock)
    assert await reclaim() == 0  # the lease still runs
    clock.advance(seconds=121)
    assert await reclaim() == 1
    assert await reclaim() == 0
    assert uow.db.balances[user.id] == 3 == ledger_sum(uow, user)
    assert uow.db.jobs[job.id].status is JobStatus.FAILED and uow.db.jobs[job.id].error_code == "interrupted"


async def test_a_roi_outside_the_image_is_refused_before_any_credit_moves(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory, remover: FakeRemover
) -> None:
    with pytest.raises(RoiExceedsBounds):
        await remove(user, ImageSource(data=BIG), CutoutOptions(size=SizeChoice.FULL, roi=Roi.parse("0 0 4001px 10px")))
    assert remover.calls == 0 and uow.db.jobs == {} and uow.db.balances[user.id] == 3


async def test_the_roi_reaches_the_renderer_relative_to_the_image(
    remove: RemoveBackground, user: User, imaging: FakeImaging
) -> None:
    await remove(
        user, ImageSource(data=BIG), CutoutOptions(size=SizeChoice.PREVIEW, roi=Roi.parse("0 0 2000px 1500px"))
    )
    picture, options = imaging.rendered[0]
    assert options.roi is not None
    assert options.roi.box(picture.width, picture.height) == Box(
        0, 0, round(picture.width / 2), round(picture.height / 2)
    )


async def test_a_background_url_is_fetched_and_checked_before_any_credit_moves(
    remove: RemoveBackground, user: User, uow: FakeUnitOfWorkFactory, fetcher: FakeFetcher, imaging: FakeImaging
) -> None:
    fetcher.pages["https://images.example/beach.jpg"] = fake_image(800, 600)
    fetcher.pages["https://images.example/broken.jpg"] = b"not an image"
    options = CutoutOptions(size=SizeChoice.FULL, bg_image=ImageSource(url="https://images.example/beach.jpg"))
    await remove(user, ImageSource(data=BIG), options)
    assert imaging.rendered[0][1].bg_image == ImageSource(data=fake_image(800, 600))
    for url, error in [("http://10.0.0.1/x.jpg", UrlNotAllowed), ("https://images.example/broken.jpg", InvalidImage)]:
        with pytest.raises(error) as caught:
            await remove(user, ImageSource(data=BIG), replace(options, bg_image=ImageSource(url=url)))
        assert caught.value.details["field"] in ("bg_image_url", "bg_image")
    assert uow.db.balances[user.id] == 2 and len(uow.db.jobs) == 1
    [record] = uow.db.jobs.values()
    assert record.options.bg_image is None  # the paid cut-out's record keeps nothing of the background


async def test_an_image_url_error_names_its_field(remove: RemoveBackground, user: User) -> None:
    with pytest.raises(UrlNotAllowed) as caught:
        await remove(user, ImageSource(url="http://127.0.0.1/x.png"), FULL)
    assert caught.value.details["field"] == "image_url"


async def test_no_subject_found_refunds(
    uow: FakeUnitOfWorkFactory, remover: FakeRemover, fetcher: FakeFetcher, clock: FakeClock, user: User
) -> None:
    class NoSubject(FakeImaging):
        async def render(self, picture: object, mask: object, options: CutoutOptions) -> RenderedImage:
            raise UnknownForeground()

    remove = RemoveBackground(uow, CutoutPipeline(NoSubject(), remover, fetcher), clock)
    with pytest.raises(UnknownForeground):
        await remove(user, ImageSource(data=BIG), FULL)
    assert uow.db.balances[user.id] == 3 == ledger_sum(uow, user)
    [job] = uow.db.jobs.values()
    assert job.status is JobStatus.FAILED and job.error_code == "unknown_foreground"


@pytest.mark.parametrize(
    ("requested", "level", "reported"),
    [
        (ForegroundType.AUTO, TypeLevel.COARSE, "other"),
        (ForegroundType.CAR, TypeLevel.FINE, "car"),
        (ForegroundType.PERSON, TypeLevel.NONE, None),
    ],
)
async def test_the_result_reports_the_type(
    remove: RemoveBackground, user: User, requested: ForegroundType, level: TypeLevel, reported: str | None
) -> None:
    result = await remove(user, ImageSource(data=BIG), CutoutOptions(foreground_type=requested, type_level=level))
    assert result.foreground_type == reported
