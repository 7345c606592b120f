"""Load generators: concurrent image uploads (httpx), and a lean keep-alive GET loop for JSON endpoints."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import psutil

from bench.processes import PeakRss
from bench.servers import Server


@dataclass
class Batch:
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    peak_rss: int = 0
    last_result: bytes = b""


async def upload_batch(server: Server, image: bytes, concurrency: int, requests: int) -> Batch:
    """``requests`` uploads of ``image``, ``concurrency`` at a time; every answer must be a 200 PNG."""
    batch = Batch()
    todo = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.base, headers=server.headers, timeout=600, limits=limits) as client:

        async def worker() -> None:
            for _ in todo:
                started = time.perf_counter()
                response = await client.post(
                    server.upload_path,
                    files={server.upload_field: ("photo.jpg", image, "image/jpeg")},
                    data=server.form,
                )
                if response.status_code != 200 or response.headers.get("content-type") != "image/png":
                    raise RuntimeError(f"{server.name}: {response.status_code} {response.text[:300]}")
                batch.latencies.append(time.perf_counter() - started)
                batch.last_result = response.content

        with PeakRss(server.pid) as rss:
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            batch.wall = time.perf_counter() - started
        batch.peak_rss = rss.peak
    return batch


@dataclass(frozen=True)
class Hammered:
    requests: int
    seconds: float
    client_cpu_percent: float  # of one core: near 100 would mean the client, not the server, was the limit

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


async def hammer(url: str, headers: dict[str, str], connections: int, seconds: float) -> Hammered:
    """GET ``url`` over ``connections`` keep-alive connections for ``seconds``; every answer must be 200."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    done = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"{url}: {head[:200]!r}")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                done += 1
        finally:
            writer.close()

    me = psutil.Process()
    cpu_before, started = me.cpu_times(), time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cpu = me.cpu_times()
    busy = (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system)
    return Hammered(done, elapsed, 100 * busy / elapsed)
