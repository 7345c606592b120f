"""The servers under test: `cutout serve` on its defaults, `rembg s` from its own virtual environment
with the same U2-Net-p file, and a bare Litestar JSON handler under the same uvicorn settings as Cutout."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from adapters.onnx_remover import default_model_path
from bench.processes import free_port, running
from entrypoints import allocator

BENCH_DIR = Path(__file__).resolve().parent
REMBG_VERSION = "2.0.86"
REMBG_VENV = BENCH_DIR / ".venv-rembg"
MODEL_HOME = BENCH_DIR / ".u2net"  # U2NET_HOME for rembg: the very file Cutout loads
EMAIL, PASSWORD = "bench@example.com", "bench password"
CREDITS = 1_000_000


@dataclass(frozen=True)
class Server:
    name: str
    pid: int
    base: str
    upload_path: str
    upload_field: str
    form: dict[str, str]
    headers: dict[str, str]


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@contextlib.contextmanager
def cutout(log_dir: Path) -> Iterator[Server]:
    """`cutout serve` with SQLite in a fresh data directory, a user with plenty of credits and an API key."""
    data_dir = Path(tempfile.mkdtemp(prefix="cutout-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUTOUT_")}
    env.update(CUTOUT_DATA_DIR=str(data_dir), CUTOUT_PORT=str(port))
    try:
        for args in (["user", "create", EMAIL, "--password", PASSWORD], ["credits", "grant", EMAIL, str(CREDITS)]):
            subprocess.run([_bin("cutout"), *args], env=env, check=True, capture_output=True)
        base = f"http://127.0.0.1:{port}"
        with running([_bin("cutout"), "serve"], env, f"{base}/health/ready", str(log_dir / "cutout.log")) as pid:
            yield Server(
                "cutout", pid, base, "/api/v1/removebg", "image_file", {"size": "full"}, {"X-Api-Key": _api_key(base)}
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _api_key(base: str) -> str:
    with httpx.Client(base_url=base) as browser:
        browser.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}).raise_for_status()
        created = browser.post(
            "/api/v1/api-keys", json={"name": "bench"}, headers={"X-CSRFToken": browser.cookies["csrftoken"]}
        )
        created.raise_for_status()
        return created.json()["key"]


def install_rembg() -> Path:
    """rembg from PyPI in its own virtual environment (made once), on the same onnxruntime release as
    Cutout so the comparison is of the pipelines, and U2NET_HOME holding our model file."""
    rembg = REMBG_VENV / "bin" / "rembg"
    onnxruntime = importlib.metadata.version("onnxruntime")
    if not rembg.exists() or rembg_onnxruntime_version() != onnxruntime:
        print(f"installing rembg {REMBG_VERSION} into {REMBG_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(REMBG_VENV)], check=True)
        pip = [str(REMBG_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, f"rembg[cpu,cli]=={REMBG_VERSION}", f"onnxruntime=={onnxruntime}"], check=True)
        # The first import compiles pymatting's numba kernels (most of a minute); not the server's start-up.
        subprocess.run([str(rembg), "--help"], check=True, capture_output=True)
    MODEL_HOME.mkdir(exist_ok=True)
    model = MODEL_HOME / "u2netp.onnx"
    if not model.exists() or model.stat().st_size != default_model_path().stat().st_size:
        shutil.copyfile(default_model_path(), model)  # rembg checks its md5 and so never downloads
    return rembg


def rembg_onnxruntime_version() -> str | None:
    python = REMBG_VENV / "bin" / "python"
    if not python.exists():
        return None
    command = [str(python), "-c", "import onnxruntime; print(onnxruntime.__version__)"]
    answer = subprocess.run(command, capture_output=True, text=True)
    return answer.stdout.strip() if answer.returncode == 0 else None


@contextlib.contextmanager
def rembg(log_dir: Path) -> Iterator[Server]:
    """`rembg s` on loopback without the Gradio UI (its leanest mode); the model loads on the first request."""
    executable = install_rembg()
    port = free_port()
    # rembg as its users run it: without the malloc settings `cutout serve` (and the floor) apply.
    ours = {variable for variable, _, _ in allocator.SETTINGS}
    env = {**{k: v for k, v in os.environ.items() if k not in ours}, "U2NET_HOME": str(MODEL_HOME)}
    command = [str(executable), "s", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    base = f"http://127.0.0.1:{port}"
    with running(command, env, f"{base}/api", str(log_dir / "rembg.log")) as pid:
        yield Server("rembg", pid, base, "/api/remove", "file", {"model": "u2netp"}, {})


@contextlib.contextmanager
def bare_litestar(log_dir: Path) -> Iterator[str]:
    """bench/bare_app.py under uvicorn with the settings `cutout serve` uses; yields the base URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--no-proxy-headers", "--log-level", "info"]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(BENCH_DIR.parent)}
    with running(command, env, f"{base}/api/v1/me", str(log_dir / "bare.log")):
        yield base
