"""The cut-out itself, shared by the synchronous route and the queue's workers: load the image,
inspect its header and the options, plan its size and price, then decode, mask and render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from domain.cutouts import MAX_UPLOAD_BYTES, CutoutOptions, ImageInfo, ImageSource, RenderedImage
from domain.errors import DomainError, UrlFetchFailed, UrlNotAllowed
from domain.ports import BackgroundRemover, Imaging, UrlFetcher
from domain.pricing import SizeChoice, chosen_size, output_size, price

Progress = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a cut-out of this image with these options will be: the size choice ``auto`` came to,
    the size in pixels and its price."""

    choice: SizeChoice
    size: tuple[int, int]
    cost: int


@dataclass
class CutoutPipeline:
    imaging: Imaging
    remover: BackgroundRemover
    fetcher: UrlFetcher

    async def load(self, source: ImageSource, field: str = "image_url") -> bytes:
        if source.data is not None:
            return source.data
        try:
            return await self.fetcher.fetch(source.url or "", MAX_UPLOAD_BYTES)
        except (UrlNotAllowed, UrlFetchFailed) as error:
            raise type(error)(error.message, **{**error.details, "field": field}) from error

    async def inspect(self, data: bytes, options: CutoutOptions) -> tuple[ImageInfo, CutoutOptions]:
        """Check the header and the options without decoding a pixel, and resolve what depends on
        the image: the region of interest in fractions of it, and the background image's bytes."""
        info = self.imaging.probe(data)
        self.imaging.check_options(options)
        roi = options.roi.relative_to(*info.upright_size) if options.roi is not None else None
        background = options.bg_image
        if background is not None:
            background_data = await self.load(background, "bg_image_url")
            try:
                self.imaging.probe(background_data)
            except DomainError as error:
                raise type(error)(
                    f"The background image: {error.message}", **{**error.details, "field": "bg_image"}
                ) from error
            background = ImageSource(data=background_data)
        return info, replace(options, roi=roi, bg_image=background)

    def plan(self, info: ImageInfo, options: CutoutOptions, balance: int) -> Plan:
        choice = chosen_size(info.width, info.height, options.size, balance)
        size = output_size(info.width, info.height, choice, balance)
        return Plan(choice, size, price(size[0] * size[1]))

    async def render(
        self, data: bytes, size: tuple[int, int], options: CutoutOptions, progress: Progress | None = None
    ) -> RenderedImage:
        picture = await self.imaging.decode(data, size)
        if progress:
            await progress(30)
        mask = await self.remover.mask(picture)
        if progress:
            await progress(75)
        return await self.imaging.render(picture, mask, options)
