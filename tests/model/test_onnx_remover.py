"""The real U2-Net-p model through the real imaging adapter, on a scene drawn here.

The scene is a light, slightly graded background with a large dark "person" (head and body) in
the middle: the model marks it as subject with a wide margin (inside 255, corners 0 when measured).
"""

from __future__ import annotations

import asyncio
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from images import person_scene
from PIL import Image, ImageFilter

from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from adapters.onnx_remover import MODELS, OnnxRemover, default_model_path, model_spec
from domain.cutouts import CutoutOptions
from domain.errors import UnknownForeground
from domain.ports import BackgroundRemover

pytestmark = pytest.mark.model

WIDTH, HEIGHT = 640, 480


def draw_scene() -> tuple[Image.Image, Image.Image]:
    """The picture and the true subject region ("L", 255 = subject)."""
    return person_scene(WIDTH, HEIGHT)


def regions(subject: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Inside the subject, 15 px away from its edge; and the 60 px corners of the frame."""
    inside = np.asarray(subject.filter(ImageFilter.MinFilter(31))) > 0
    corners = np.zeros(inside.shape, dtype=bool)
    corners[:60, :60] = corners[:60, -60:] = corners[-60:, :60] = corners[-60:, -60:] = True
    corners &= np.asarray(subject) == 0
    return inside, corners


@pytest.fixture(scope="module")
def cpu() -> CpuPool:
    return CpuPool()


@pytest.fixture(scope="module")
def remover(cpu) -> OnnxRemover:
    remover = OnnxRemover(cpu)
    remover.warm()
    return remover


@pytest.fixture(scope="module")
def imaging(cpu) -> PillowImaging:
    return PillowImaging(cpu)


@pytest.fixture(scope="module")
def scene_jpeg() -> bytes:
    buffer = BytesIO()
    draw_scene()[0].save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_the_default_model_is_u2netp_as_fetched_at_install(remover):
    assert isinstance(remover, BackgroundRemover)
    assert default_model_path().name == "u2netp.onnx"
    assert remover.model_path == default_model_path()
    assert remover.spec == MODELS["u2netp"]
    assert remover.input_size == (320, 320)


async def test_the_subject_is_kept_and_the_background_removed(remover, imaging, scene_jpeg):
    info = imaging.probe(scene_jpeg)
    picture = await imaging.decode(scene_jpeg, (info.width, info.height))
    mask = await remover.mask(picture)
    assert (mask.mode, mask.size) == ("L", picture.size)
    alpha = np.asarray(mask, dtype=np.float32)
    inside, corners = regions(draw_scene()[1])
    assert alpha[inside].mean() > 180
    assert alpha[corners].mean() < 60

    result = await imaging.render(picture, mask, CutoutOptions())
    out = Image.open(BytesIO(result.data))
    rendered_alpha = np.asarray(out.getchannel("A"), dtype=np.float32)
    assert rendered_alpha[inside].mean() > 180
    assert rendered_alpha[corners].mean() < 60


async def test_a_scaled_picture_gets_a_mask_of_its_own_size(remover, imaging, scene_jpeg):
    picture = await imaging.decode(scene_jpeg, (160, 120))
    mask = await remover.mask(picture)
    assert mask.size == (160, 120)
    small_subject = draw_scene()[1].resize((160, 120), Image.Resampling.NEAREST)
    inside = np.asarray(small_subject.filter(ImageFilter.MinFilter(9))) > 0
    assert np.asarray(mask, dtype=np.float32)[inside].mean() > 180
    assert np.asarray(mask)[:15, :15].mean() < 60


@pytest.mark.parametrize(
    "blank",
    [
        Image.new("RGB", (WIDTH, HEIGHT), "white"),
        Image.new("RGB", (WIDTH, HEIGHT), (128, 128, 128)),
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)),
    ],
    ids=["white", "grey", "noise"],
)
async def test_a_picture_without_subject_gets_an_empty_mask_and_no_cut_out(remover, imaging, blank):
    mask = await remover.mask(blank)
    assert mask.size == blank.size and mask.getextrema() == (0, 0)
    with pytest.raises(UnknownForeground):
        await imaging.render(blank, mask, CutoutOptions())


async def test_concurrent_masks_are_equal(remover, imaging, scene_jpeg):
    picture = await imaging.decode(scene_jpeg, (WIDTH, HEIGHT))
    masks = await asyncio.gather(*(remover.mask(picture) for _ in range(4)))
    first = np.asarray(masks[0])
    assert all(np.array_equal(first, np.asarray(m)) for m in masks[1:])


async def test_check_passes_while_the_session_is_loaded_and_fails_after_close(cpu):
    remover = OnnxRemover(cpu)
    await remover.check()
    remover.close()
    with pytest.raises(RuntimeError):
        await remover.check()


def test_a_missing_model_file_is_a_runtime_error(cpu, tmp_path):
    missing = tmp_path / "nowhere" / "u2netp.onnx"
    with pytest.raises(RuntimeError, match="nowhere"):
        OnnxRemover(cpu, model_path=missing)


def test_a_file_that_is_no_model_is_a_runtime_error(cpu, tmp_path):
    bogus = tmp_path / "u2netp.onnx"
    bogus.write_bytes(b"this is not an ONNX model")
    with pytest.raises(RuntimeError, match=str(bogus)):
        OnnxRemover(cpu, model_path=str(bogus))


def test_model_path_overrides_the_default(cpu, tmp_path):
    copy = tmp_path / "my-u2netp.onnx"
    copy.write_bytes(Path(default_model_path()).read_bytes())
    remover = OnnxRemover(cpu, model_path=copy)
    assert remover.model_path == copy
    assert remover.spec == MODELS["u2netp"]  # unknown stem: the fallback row


@pytest.mark.parametrize(
    ("file_name", "row"),
    [
        ("u2netp.onnx", "u2netp"),
        ("u2net.onnx", "u2net"),
        ("u2net_human_seg.onnx", "u2net"),
        ("silueta.onnx", "silueta"),
        ("isnet-general-use.onnx", "isnet"),
        ("isnet-anime.onnx", "isnet"),
        ("BiRefNet-general-epoch_244.onnx", "birefnet"),
        ("birefnet-portrait.onnx", "birefnet"),
        ("bria-rmbg-2.0.onnx", "bria-rmbg"),
        ("something-else.onnx", "u2netp"),
    ],
)
def test_the_model_table_is_chosen_by_file_name(file_name, row):
    assert model_spec(Path("/models") / file_name) == MODELS[row]


def test_the_table_describes_sizes_normalisation_and_sigmoid():
    assert MODELS["u2netp"].input_size == 320
    assert MODELS["isnet"].input_size == MODELS["birefnet"].input_size == 1024
    assert MODELS["birefnet"].sigmoid and not MODELS["u2netp"].sigmoid
    assert MODELS["u2netp"].mean == (0.485, 0.456, 0.406)
    assert MODELS["u2netp"].std == (0.229, 0.224, 0.225)
