"""glibc's malloc as `cutout serve` sets it: a big buffer freed and asked for again costs no new pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from entrypoints.allocator import SETTINGS

PROBE = """
import json, os, resource, sys
from entrypoints.allocator import tune_allocator
took = tune_allocator() if sys.argv[1] == "tuned" else None
def fresh_pages():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = bytearray(48 * 1024 * 1024)  # a 12 MP RGBA picture
    buffer[::4096] = b"x" * len(buffer[::4096])  # touch every page
    del buffer
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
fresh_pages()
malloc_env = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
print(json.dumps({"took": took, "faults": fresh_pages(), "env": malloc_env}))
"""


def _probe(mode: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    run = subprocess.run([sys.executable, "-c", PROBE, mode], env={**clean, **env}, capture_output=True, check=True)
    return json.loads(run.stdout)


def test_a_freed_picture_is_reused_instead_of_faulted_in_again() -> None:
    tuned, untuned = _probe("tuned"), _probe("default")
    assert tuned["took"] is True
    assert untuned["faults"] > 10_000  # glibc's default: 48 MB of fresh pages, every time
    assert tuned["faults"] < 1_000
    assert tuned["env"] == {variable: str(value) for variable, _, value in SETTINGS}  # for child processes


def test_a_variable_the_operator_set_is_kept() -> None:
    tuned = _probe("tuned", MALLOC_TRIM_THRESHOLD_="1048576")
    assert tuned["env"]["MALLOC_TRIM_THRESHOLD_"] == "1048576"
    assert tuned["env"]["MALLOC_ARENA_MAX"] == "1"
