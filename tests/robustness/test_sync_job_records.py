"""#12 defect 3: the record a paid synchronous cut-out leaves in ``jobs`` is deleted once the retention
window has passed since it was created, by the worker loop's chores; the ledger keeps its charge,
and queued jobs keep their rows."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from images import encode, person_scene
from robustness.job_flows import FAST, account, finished, served
from sqlalchemy import func, select

from adapters.sql.engine import create_engine
from adapters.sql.models import JobRow

PHOTO = encode(person_scene(640, 480)[0], quality=90)  # 0.31 MP: one credit at full size
RETENTION_HOURS = "0.002"  # 7.2 s
CHORES = replace(FAST, retention=0.2, sync_job_records=0.2)


async def job_rows(database_url: str) -> tuple[int, int]:
    """How many synchronous and queued job rows there are."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(JobRow.sync, func.count()).group_by(JobRow.sync))
            counts = dict(rows.tuples().all())
    finally:
        await engine.dispose()
    return counts.get(True, 0), counts.get(False, 0)


async def test_an_ended_sync_cut_out_leaves_no_job_row_after_the_retention_window(
    any_database: str, tmp_path: Path
) -> None:
    env = {"CUTOUT_RETENTION_HOURS": RETENTION_HOURS}
    with served(any_database, tmp_path, schedule=CHORES, env=env) as base:
        async with account(base, any_database, "brief@example.com", credits=2) as client:
            cut = await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", PHOTO)}, data={"size": "full"})
            assert cut.status_code == 200 and cut.headers["x-credits-charged"] == "1"
            assert (await job_rows(any_database))[0] == 1  # recorded while the window lasts
            queued = await client.post("/api/v1/jobs", files={"image_file": ("p.jpg", PHOTO)}, data={"size": "full"})
            assert (await finished(client, queued.json()["id"]))["status"] == "succeeded"
            async with asyncio.timeout(120):
                while (await job_rows(any_database))[0]:
                    await asyncio.sleep(0.2)
            statement = (await client.get("/api/v1/credits")).json()
            queued_job = (await client.get(f"/api/v1/jobs/{queued.json()['id']}")).json()
    assert await job_rows(any_database) == (0, 1)
    assert queued_job["status"] in ("succeeded", "expired")  # its row stays; only its images go
    kinds = sorted(entry["kind"] for entry in statement["entries"])
    assert kinds == ["admin_grant", "charge", "charge"] and statement["balance"] == 0
    assert sum(entry["delta"] for entry in statement["entries"]) == statement["balance"]
