"""#12 defect 1: a background image is never kept in the database. The largest background a cut-out
accepts (``MAX_UPLOAD_BYTES``) leaves no ``jobs`` row larger than a few KB, synchronous or queued; a
queued job's background waits in the blob store beside its input, and the worker lays the result on it."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from fakes import FakeFetcher
from images import encode, person_scene
from PIL import Image
from robustness.job_flows import account, finished, served
from sqlalchemy import func, select

from adapters.clock import SystemClock
from adapters.fs_store import FsBlobStore
from adapters.sql.engine import create_engine
from adapters.sql.models import JobRow
from domain.cutouts import MAX_UPLOAD_BYTES

PHOTO = encode(person_scene(640, 480)[0], quality=90)  # 0.31 MP: one credit at full size
BACKGROUND_URL = "https://images.example/beach.png"
BACKGROUND_COLOUR = (20, 140, 60)
ROW_LIMIT = 4096


def largest_background() -> bytes:
    """A green PNG padded to exactly ``MAX_UPLOAD_BYTES`` with a private ancillary chunk after its pixels,
    which decoders skip."""
    png = encode(Image.new("RGB", (800, 600), BACKGROUND_COLOUR), "PNG")
    end = png.rindex(b"IEND") - 4
    filler = MAX_UPLOAD_BYTES - len(png) - 12
    chunk = struct.pack(">I", filler) + b"cuTo" + bytes(filler)
    chunk += struct.pack(">I", zlib.crc32(chunk[4:]))
    padded = png[:end] + chunk + png[end:]
    assert len(padded) == MAX_UPLOAD_BYTES
    return padded


async def largest_rows(database_url: str) -> tuple[int, int]:
    """How many job rows there are, and the longest stored options of any."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(select(func.count()).select_from(JobRow))
            longest = await connection.scalar(select(func.max(func.length(JobRow.options))))
    finally:
        await engine.dispose()
    return count or 0, longest or 0


async def test_the_largest_background_leaves_no_large_job_row(any_database: str, tmp_path: Path) -> None:
    blobs_dir = tmp_path / "blobs"
    blobs = FsBlobStore(blobs_dir, "http://127.0.0.1", "secret", SystemClock())
    fetcher = FakeFetcher({BACKGROUND_URL: largest_background()})
    fields = {"size": "full", "bg_image_url": BACKGROUND_URL}
    with served(any_database, tmp_path / "var", fetcher=fetcher, blob_store=blobs) as base:
        async with account(base, any_database, "beach@example.com", credits=2) as client:
            sync = await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", PHOTO)}, data=fields)
            assert sync.status_code == 200, sync.text
            assert sync.headers["x-credits-charged"] == "1"
            assert Image.open(BytesIO(sync.content)).convert("RGB").getpixel((2, 2)) == BACKGROUND_COLOUR

            submitted = await client.post("/api/v1/jobs", files={"image_file": ("p.jpg", PHOTO)}, data=fields)
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["id"]
            job = await finished(client, job_id)
            stored = sorted(p.name for p in (blobs_dir / "jobs" / job_id).iterdir())
            assert job["status"] == "succeeded" and job["credits"] == 1, job
            link = urlsplit((await client.get(f"/api/v1/jobs/{job_id}/result")).headers["location"])
            result = await client.get(f"{link.path}?{link.query}")
            assert Image.open(BytesIO(result.content)).convert("RGB").getpixel((2, 2)) == BACKGROUND_COLOUR

    assert stored == ["background", "input", "result"]  # the background sits beside the input until retention
    rows, longest = await largest_rows(any_database)
    assert rows == 2  # the paid synchronous cut-out's record and the queued job
    assert longest < ROW_LIMIT
