"""The targets of issue #7, checked against results.json data, and the printed table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    bound: float
    higher_is_better: bool

    @property
    def met(self) -> bool:
        return self.value >= self.bound if self.higher_is_better else self.value <= self.bound

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "at_least" if self.higher_is_better else "at_most": self.bound,
            "met": self.met,
        }


def targets(results: dict[str, Any]) -> list[Target]:
    found: list[Target] = []
    sbs, memory, api = results.get("side_by_side"), results.get("memory"), results.get("api")
    if sbs:
        c2 = sbs["c2"]
        found.append(
            Target(
                "12 MP throughput at c=2 vs rembg s (x)",
                c2["cutout"]["throughput"] / c2["rembg"]["throughput"],
                2.0,
                True,
            )
        )
        if floor := results.get("pipeline", {}).get("throughput_12mp_c2"):
            found.append(
                Target(
                    "12 MP throughput at c=2 vs the in-process floor (x)", c2["cutout"]["throughput"] / floor, 0.8, True
                )
            )
        for level in (key for key in sbs if key.startswith("c") and key[1:].isdigit()):
            pair = sbs[level]
            found.append(
                Target(
                    f"p50 latency at {level[0]}={level[1:]} vs rembg s (x)",
                    pair["cutout"]["p50_s"] / pair["rembg"]["p50_s"],
                    0.5,
                    False,
                )
            )
        peak = {
            name: max(sbs[level][name]["peak_rss_mb"] for level in sbs if level.startswith("c") and level[1:].isdigit())
            for name in ("cutout", "rembg")
        }
        found.append(
            Target("peak RSS over the side-by-side vs rembg s (x)", peak["cutout"] / peak["rembg"], 0.5, False)
        )
        found.append(Target("mask IoU with rembg s", sbs["mask_iou"], 0.95, True))
    if memory and "peak_rss_mb_8_concurrent" in memory:
        peaks = memory["peak_rss_mb_8_concurrent"]
        found.append(
            Target("peak RSS, 8 concurrent 12 MP, vs rembg s (x)", peaks["cutout"] / peaks["rembg"], 0.5, False)
        )
    if memory and "drift" in memory:
        found.append(Target("RSS drift over the run (%)", memory["drift"]["drift_percent"], 5.0, False))
    if peak := results.get("peak_memory"):
        rows = peak["per_kind"]
        if "PNG L 16-bit" in rows and "PNG L 8-bit" in rows:
            found.append(
                Target(
                    "peak RSS, 49 MP 16-bit grey preview vs 8-bit (x)",
                    rows["PNG L 16-bit"]["peak_growth_mb_first"] / rows["PNG L 8-bit"]["peak_growth_mb_first"],
                    1.5,
                    False,
                )
            )
    if api:
        found.append(
            Target("authenticated GET /api/v1/me vs bare Litestar (x)", api["cutout_rps"] / api["bare_rps"], 0.5, True)
        )
    return found


def table(results: dict[str, Any]) -> str:
    lines = [
        f"Cutout benchmarks ({results['mode']}) on {results['machine']['cpu']} x{results['machine']['cores']}, "
        f"load average {results['machine']['load_average_start']} -> {results['machine'].get('load_average_end')}"
    ]
    if pipeline := results.get("pipeline"):
        lines += ["", "Pipeline floor (in-process, ms)    decode   model  render   total"]
        for mp, row in pipeline["latency"].items():
            stages = " ".join(f"{row[stage]:7.0f}" for stage in ("decode_ms", "model_ms", "render_ms", "total_ms"))
            lines.append(f"  {mp:>4} MP {row['width']:>5}x{row['height']:<5}            {stages}")
        c1, c2 = pipeline["throughput_12mp_c1"], pipeline["throughput_12mp_c2"]
        lines.append(f"  12 MP throughput: {c1:.2f}/s at c=1, {c2:.2f}/s at c=2")
    if sbs := results.get("side_by_side"):
        lines += ["", "12 MP full size over HTTP     req/s  p50 s  p95 s  peak MB  client CPU ms/req"]
        for level in (key for key in sbs if key.startswith("c") and key[1:].isdigit()):
            for name, row in sbs[level].items():
                figures = (
                    f"{row['throughput']:6.2f} {row['p50_s']:6.2f} {row['p95_s']:6.2f} {row['peak_rss_mb']:8.0f}"
                    f" {row['client_cpu_ms_per_request']:9.0f}"
                )
                lines.append(f"  {level:<3} {name:<8} {row['requests']:>4} req  {figures}")
        lines.append(f"  mask IoU Cutout/rembg: {sbs['mask_iou']:.3f}")
    if memory := results.get("memory"):
        lines += ["", "Memory (MB)"]
        for key, value in memory.items():
            if key != "drift":
                lines.append(f"  {key}: " + ", ".join(f"{name} {mb:.0f}" for name, mb in value.items()))
        if drift := memory.get("drift"):
            lines.append(
                f"  drift: {drift['rss_after_warmup_mb']:.0f} MB after {drift['warmup_requests']} requests -> "
                f"{drift['rss_end_mb']:.0f} MB after {drift['requests']} ({drift['drift_percent']:+.1f} %)"
            )
    if peak := results.get("peak_memory"):
        lines += [
            "",
            f"Peak RSS growth per request, {peak['width']}x{peak['height']} {peak['kind']} (MB)",
            "  image               upload KB   first    max   RSS before -> after",
        ]
        for name, row in peak["per_kind"].items():
            growth = f"{row['peak_growth_mb_first']:7.0f} {row['peak_growth_mb_max']:6.0f}"
            lines.append(
                f"  {name:<18} {row['upload_kb']:10.0f} {growth}"
                f"   {row['rss_before_mb']:6.0f} -> {row['rss_after_mb']:.0f} after {row['requests']}"
            )
    if api := results.get("api"):
        lines += [
            "",
            f"GET /api/v1/me at {api['connections']} connections: Cutout {api['cutout_rps']:.0f}/s, "
            f"bare Litestar {api['bare_rps']:.0f}/s (client: {api['client_cpu_percent_max']:.0f} % of a core at most)",
        ]
    lines += ["", "Targets"]
    for target in results["targets"]:
        mark = "met   " if target["met"] else "MISSED"
        bound = f">= {target['at_least']:g}" if "at_least" in target else f"<= {target['at_most']:g}"
        lines.append(f"  {mark} {target['name']:<55} {target['value']:8.2f}  (target {bound})")
    return "\n".join(lines)
