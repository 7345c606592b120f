"""One bounded pool for CPU-heavy work (decode, inference, encode), shared by every adapter that needs it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class CpuPool:
    """Runs blocking functions in worker threads, at most ``workers`` at a time (default: the core count).

    Pillow's decode/resize/encode and ONNX Runtime release the GIL, so the threads really run in
    parallel; the limit keeps them from oversubscribing the cores.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.limiter = anyio.CapacityLimiter(self.workers)

    async def run(self, fn: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
