"""The cut-out itself, shared by the synchronous route and the queue's workers:
load the image, plan its size and price from the header, then decode, mask and render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.cutouts import MAX_UPLOAD_BYTES, CutoutOptions, ImageSource, RenderedImage
from domain.ports import BackgroundRemover, Imaging, UrlFetcher
from domain.pricing import output_size, price

Progress = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a cut-out of this image with these options will be: its size and its price."""

    size: tuple[int, int]
    cost: int


@dataclass
class CutoutPipeline:
    imaging: Imaging
    remover: BackgroundRemover
    fetcher: UrlFetcher

    async def load(self, source: ImageSource) -> bytes:
        if source.data is not None:
            return source.data
        return await self.fetcher.fetch(source.url or "", MAX_UPLOAD_BYTES)

    def plan(self, data: bytes, options: CutoutOptions, balance: int) -> Plan:
        """Check the header and the options (no pixel is decoded) and size and price the result."""
        info = self.imaging.probe(data)
        self.imaging.check_options(options)
        size = output_size(info.width, info.height, options.size, balance)
        return Plan(size, price(size[0] * size[1]))

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
