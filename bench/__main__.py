"""`make bench`: python -m bench [--quick] [--only SECTION ...]. Prints the table, writes bench/results.json.
`--only peak` (peak memory per request by kind of image) needs neither rembg nor the other servers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import onnxruntime
import PIL
import psutil

from bench import peak_memory, report, servers, suite
from bench.photos import photo_jpeg

SECTIONS = ("pipeline", "rembg", "memory", "peak", "api")
RESULTS = Path(__file__).resolve().parent / "results.json"


def machine() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "pillow": PIL.__version__,
        "rembg": servers.REMBG_VERSION,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


async def main(quick: bool, sections: set[str]) -> dict[str, object]:
    results: dict[str, object] = {"mode": "quick" if quick else "full", "started": datetime.now(UTC).isoformat()}
    results["machine"] = machine()
    log_dir = Path(tempfile.mkdtemp(prefix="cutout-bench-logs-"))
    print(f"server logs in {log_dir}", flush=True)

    if "pipeline" in sections:
        print("pipeline floor ...", flush=True)
        sizes = {mp: photo_jpeg(mp) for mp in (1, 4, 12, 25)}
        results["pipeline"] = await suite.pipeline_floor(
            sizes, repeats=1 if quick else 3, throughput_requests=2 if quick else 6
        )

    if "peak" in sections:
        print("peak memory per request by kind of image (a fresh server each) ...", flush=True)
        results["peak_memory"] = await peak_memory.peak_per_request(log_dir, requests=1 if quick else 3)

    if sections & {"rembg", "memory", "api"}:
        results["memory"] = await against_servers(results, quick, sections, log_dir)
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]  # type: ignore[index]
    results["targets"] = [target.as_dict() for target in report.targets(results)]
    return results


async def against_servers(results: dict[str, object], quick: bool, sections: set[str], log_dir: Path) -> dict:
    """The sections on a running `cutout serve` (and `rembg s`); their figures go into ``results``,
    the memory figures are returned."""
    twelve = photo_jpeg(12)
    memory: dict[str, object] = {}
    with contextlib.ExitStack() as stack:
        cutout = stack.enter_context(servers.cutout(log_dir))
        memory["idle_rss_mb_at_start"] = {"cutout": suite.tree_rss(cutout.pid) / suite.MB}
        if sections & {"rembg", "memory"}:
            rembg = stack.enter_context(servers.rembg(log_dir))
            memory["idle_rss_mb_at_start"]["rembg"] = suite.tree_rss(rembg.pid) / suite.MB  # before its lazy model load
            results["machine"]["rembg_onnxruntime"] = servers.rembg_onnxruntime_version()  # type: ignore[index]
            pair = [cutout, rembg]
            if "rembg" in sections:
                print("side by side with rembg s ...", flush=True)
                levels = [1, 2, 4]
                # Batches of 4 requests per connection: a batch's ramp-up and its lone last request
                # then weigh about as much as in the floor's one batch of 12 at c=2.
                sbs = await suite.side_by_side(
                    pair, twelve, levels, rounds=1 if quick else 3, per_worker=1 if quick else 4
                )
                memory["idle_rss_mb_after_first_request"] = sbs.pop("idle_rss_mb_after_first_request")
                results["side_by_side"] = sbs
            if "memory" in sections:
                print("peak under 8 concurrent 12 MP requests ...", flush=True)
                memory["peak_rss_mb_8_concurrent"] = await suite.peak_under_load(pair, twelve, 8)
        if "memory" in sections:
            print("RSS drift ...", flush=True)
            total, warmup = (100, 20) if quick else (500, 50)
            memory["drift"] = await suite.rss_drift(cutout, photo_jpeg(1), warmup, total, concurrency=2)
        if "api" in sections:
            print("API overhead ...", flush=True)
            bare = stack.enter_context(servers.bare_litestar(log_dir))
            results["api"] = await suite.api_overhead(cutout, bare, 64, seconds=2 if quick else 5, rounds=2)
    return memory


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one short round of everything, to check the bench works")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = parser.parse_args()
    results = asyncio.run(main(args.quick, set(args.only)))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.table(results))
    print(f"\nwritten to {RESULTS}")
