"""Load generators on plain asyncio streams: concurrent image uploads, and a keep-alive GET loop for JSON."""

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
    client_cpu: float = 0.0  # seconds of the bench process's CPU, to show the client is not the limit


def multipart_upload(server: Server, image: bytes) -> tuple[bytes, bytes]:
    """The request head and body of one upload, built once (by httpx): the client then only copies bytes."""
    request = httpx.Request(
        "POST",
        server.base + server.upload_path,
        headers=server.headers,
        files={server.upload_field: ("photo.jpg", image, "image/jpeg")},
        data=server.form,
    )
    lines = [f"POST {server.upload_path} HTTP/1.1", *(f"{k}: {v}" for k, v in request.headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), request.read()


async def upload_batch(server: Server, image: bytes, concurrency: int, requests: int) -> Batch:
    """``requests`` uploads of ``image``, ``concurrency`` at a time over keep-alive connections; every
    answer must be a 200 PNG with a Content-Length. A lean client (prebuilt request, plain asyncio
    streams) so that the load, not its generator, takes the cores: httpx spent 160-280 ms of CPU on
    each 12 MP round trip, on the same two cores as the servers."""
    batch = Batch()
    todo = iter(range(requests))
    head, body = multipart_upload(server, image)
    parts = urlsplit(server.base)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            for _ in todo:
                started = time.perf_counter()
                writer.write(head)
                writer.write(body)
                response_head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                status, *header_lines = response_head.split("\r\n")
                headers = dict(line.lower().split(": ", 1) for line in header_lines if ": " in line)
                content = await reader.readexactly(int(headers.get("content-length", "0")))
                if not status.startswith("HTTP/1.1 200") or headers.get("content-type") != "image/png":
                    raise RuntimeError(f"{server.name}: {status} {content[:300]!r}")
                batch.latencies.append(time.perf_counter() - started)
                batch.last_result = content
        finally:
            writer.close()

    me = psutil.Process()
    cpu_before = me.cpu_times()
    with PeakRss(server.pid) as rss:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        batch.wall = time.perf_counter() - started
    cpu = me.cpu_times()
    batch.client_cpu = (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system)
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
