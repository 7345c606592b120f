"""The pipeline floor: Cutout's own adapters in-process, no HTTP and no database.
probe + decode -> model -> render (compose + PNG encode), through the shared CpuPool as the server does."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from adapters.onnx_remover import OnnxRemover
from domain.cutouts import CutoutOptions
from entrypoints.allocator import tune_allocator


@dataclass(frozen=True)
class StageTimes:
    decode: float
    model: float
    render: float

    @property
    def total(self) -> float:
        return self.decode + self.model + self.render


class Pipeline:
    def __init__(self) -> None:
        tune_allocator()  # the process settings `cutout serve` runs with
        self.cpu = CpuPool()
        self.imaging = PillowImaging(self.cpu)
        self.remover = OnnxRemover(self.cpu)
        self.remover.warm()

    async def once(self, data: bytes) -> StageTimes:
        started = time.perf_counter()
        info = self.imaging.probe(data)
        picture = await self.imaging.decode(data, (info.width, info.height))
        decoded = time.perf_counter()
        mask = await self.remover.mask(picture)
        masked = time.perf_counter()
        await self.imaging.render(picture, mask, CutoutOptions())
        return StageTimes(decoded - started, masked - decoded, time.perf_counter() - masked)

    async def latency(self, data: bytes, repeats: int) -> StageTimes:
        """Median of each stage over ``repeats`` sequential runs, after one warm-up."""
        await self.once(data)
        runs = [await self.once(data) for _ in range(repeats)]
        return StageTimes(
            *(statistics.median(getattr(run, stage) for run in runs) for stage in ("decode", "model", "render"))
        )

    async def throughput(self, data: bytes, concurrency: int, requests: int) -> float:
        """Images per second with ``concurrency`` pipelines in flight (the server's best case)."""
        todo = iter(range(requests))

        async def worker() -> None:
            for _ in todo:
                await self.once(data)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)
