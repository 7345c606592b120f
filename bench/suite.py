"""The four measurements of `make bench`. Each returns plain data for results.json."""

from __future__ import annotations

import statistics
import time
from io import BytesIO

import numpy as np
from PIL import Image

from bench.load import Batch, Hammered, hammer, upload_batch
from bench.pipeline import Pipeline
from bench.processes import tree_rss
from bench.servers import Server

MB = 1024 * 1024


async def pipeline_floor(images: dict[float, bytes], repeats: int, throughput_requests: int) -> dict[str, object]:
    pipeline = Pipeline()
    per_size = {}
    for megapixels, data in images.items():
        times = await pipeline.latency(data, repeats)
        width, height = Image.open(BytesIO(data)).size
        per_size[f"{megapixels:g}"] = {
            "width": width,
            "height": height,
            "decode_ms": 1000 * times.decode,
            "model_ms": 1000 * times.model,
            "render_ms": 1000 * times.render,
            "total_ms": 1000 * times.total,
        }
    twelve = images[12]
    return {
        "latency": per_size,
        "throughput_12mp_c1": await pipeline.throughput(twelve, 1, throughput_requests),
        "throughput_12mp_c2": await pipeline.throughput(twelve, 2, 2 * throughput_requests),
    }


def _summary(batches: list[Batch]) -> dict[str, float]:
    latencies = sorted(latency for batch in batches for latency in batch.latencies)
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[18] if len(latencies) > 1 else latencies[0]
    return {
        "requests": len(latencies),
        "throughput": len(latencies) / sum(batch.wall for batch in batches),
        "p50_s": statistics.median(latencies),
        "p95_s": p95,
        "peak_rss_mb": max(batch.peak_rss for batch in batches) / MB,
        "client_cpu_ms_per_request": 1000 * sum(batch.client_cpu for batch in batches) / len(latencies),
    }


def mask_iou(first_png: bytes, second_png: bytes) -> float:
    masks = [np.asarray(Image.open(BytesIO(png)).getchannel("A")) > 127 for png in (first_png, second_png)]
    return float((masks[0] & masks[1]).sum() / max((masks[0] | masks[1]).sum(), 1))


async def side_by_side(servers: list[Server], image: bytes, levels: list[int], rounds: int, per_worker: int) -> dict:
    """Alternate batches between the servers at each concurrency level: the one that went second goes
    first in the next round, so both meet the same background load."""
    for server in servers:  # rembg loads its model on the first request; both get one untimed request
        await upload_batch(server, image, 1, 1)
    idle = {server.name: tree_rss(server.pid) / MB for server in servers}
    results: dict[str, object] = {"idle_rss_mb_after_first_request": idle}
    last: dict[str, bytes] = {}
    for concurrency in levels:
        batches: dict[str, list[Batch]] = {server.name: [] for server in servers}
        for round_ in range(rounds):
            for server in servers if round_ % 2 == 0 else reversed(servers):
                batch = await upload_batch(server, image, concurrency, concurrency * per_worker)
                batches[server.name].append(batch)
                last[server.name] = batch.last_result
        results[f"c{concurrency}"] = {name: _summary(runs) for name, runs in batches.items()}
    names = [server.name for server in servers]
    results["mask_iou"] = mask_iou(last[names[0]], last[names[1]])
    return results


async def peak_under_load(servers: list[Server], image: bytes, concurrency: int) -> dict[str, float]:
    peaks = {}
    for server in servers:
        batch = await upload_batch(server, image, concurrency, concurrency)
        peaks[server.name] = batch.peak_rss / MB
    return peaks


async def rss_drift(server: Server, image: bytes, warmup: int, total: int, concurrency: int) -> dict[str, float]:
    """RSS after ``warmup`` requests (allocators and arenas grown) against RSS after ``total``."""
    await upload_batch(server, image, concurrency, warmup)
    warm = tree_rss(server.pid)
    started = time.perf_counter()
    await upload_batch(server, image, concurrency, total - warmup)
    end = tree_rss(server.pid)
    return {
        "requests": total,
        "warmup_requests": warmup,
        "rss_after_warmup_mb": warm / MB,
        "rss_end_mb": end / MB,
        "drift_percent": 100 * (end - warm) / warm,
        "seconds": time.perf_counter() - started,
    }


async def api_overhead(cutout: Server, bare_base: str, connections: int, seconds: float, rounds: int) -> dict:
    """Authenticated GET /api/v1/me against the bare handler, alternating, same connections and time."""
    targets = [("cutout", cutout.base, cutout.headers), ("bare", bare_base, {})]
    runs: dict[str, list[Hammered]] = {name: [] for name, _, _ in targets}
    for round_ in range(rounds):
        for name, base, headers in targets if round_ % 2 == 0 else reversed(targets):
            runs[name].append(await hammer(f"{base}/api/v1/me", headers, connections, seconds))

    def rate(name: str) -> float:
        return sum(run.requests for run in runs[name]) / sum(run.seconds for run in runs[name])

    return {
        "connections": connections,
        "cutout_rps": rate("cutout"),
        "bare_rps": rate("bare"),
        "client_cpu_percent_max": max(run.client_cpu_percent for name in runs for run in runs[name]),
    }
