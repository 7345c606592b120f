"""Make the home page's before/after example with our own model, once; the results are committed.

The photo is scikit-image's ``astronaut.png`` (Eileen Collins, NASA; public domain). Take it from
the scikit-image wheel, which is not a dependency of Cutout:

    pip download --no-deps -d /tmp/skimage scikit-image
    unzip -j /tmp/skimage/scikit_image-*.whl skimage/data/astronaut.png -d /tmp/skimage
    .venv/bin/python site/make_example.py /tmp/skimage/astronaut.png
"""

from __future__ import annotations

import asyncio
import sys
from io import BytesIO
from pathlib import Path

from PIL import Image

from adapters.cpu import CpuPool
from adapters.imaging import PillowImaging
from adapters.onnx_remover import OnnxRemover
from domain.cutouts import CutoutOptions

OUT = Path(__file__).parent / "content" / "images"
WIDTH = 320  # shown at up to 320 CSS pixels; small enough for the home page to stay light


async def cut_out(photo: bytes) -> Image.Image:
    cpu = CpuPool()
    imaging, remover = PillowImaging(cpu), OnnxRemover(cpu)
    info = imaging.probe(photo)
    picture = await imaging.decode(photo, (info.width, info.height))
    rendered = await imaging.render(picture, await remover.mask(picture), CutoutOptions())
    return Image.open(BytesIO(rendered.data))


def main(source: str) -> None:
    photo = Path(source).read_bytes()
    before = Image.open(BytesIO(photo)).convert("RGB")
    after = asyncio.run(cut_out(photo))
    size = (WIDTH, round(before.height * WIDTH / before.width))
    OUT.mkdir(parents=True, exist_ok=True)
    before.resize(size, Image.Resampling.LANCZOS).save(OUT / "example-before.webp", quality=65, method=6)
    after.resize(size, Image.Resampling.LANCZOS).save(
        OUT / "example-after.webp", quality=65, alpha_quality=60, method=6
    )
    for name in ("example-before.webp", "example-after.webp"):
        print(f"{OUT / name}: {(OUT / name).stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
