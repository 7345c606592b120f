"""Concurrent paid requests on a real database never overdraw and leave the ledger equal to the balance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from api.conftest import api_key, fake_adapters, make_settings
from fakes import FakeRemover, fake_image
from litestar.testing import AsyncTestClient

from adapters.sql.engine import create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.ports import Mask
from entrypoints.http.app import create_app


class SlowRemover(FakeRemover):
    """Holds each cut-out long enough for all requests to overlap."""

    async def mask(self, picture: Any) -> Mask:
        await asyncio.sleep(0.05)
        return await super().mask(picture)


async def test_twenty_parallel_full_size_requests_on_three_credits_charge_three(
    sql_uow: SqlUnitOfWorkFactory, database_url: str, tmp_path: Path
) -> None:
    remover = SlowRemover()
    # The test client runs the app on an event loop of its own: give it an engine of its own.
    app_uow = SqlUnitOfWorkFactory(create_engine(database_url))
    adapters = fake_adapters(uow=app_uow, remover=remover, closers=[app_uow.engine.dispose])
    app = create_app(make_settings(tmp_path), adapters)
    async with AsyncTestClient(app) as client:
        key = await api_key(client)

        async def cut() -> Any:
            return await client.post(
                "/api/v1/removebg",
                files={"image_file": ("p.jpg", fake_image(4000, 3000))},
                data={"size": "full"},
                headers={"X-Api-Key": key},
            )

        responses = await asyncio.gather(*(cut() for _ in range(20)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 3 + [402] * 17
        assert sum(int(r.headers.get("x-credits-charged", 0)) for r in responses) == 3
        statement = (await client.get("/api/v1/credits?limit=100", headers={"X-Api-Key": key})).json()
    assert statement["balance"] == 0
    assert sum(entry["delta"] for entry in statement["entries"]) == 0  # +3 grant, three -1 charges
    assert [e["kind"] for e in statement["entries"]].count("charge") == 3
    assert remover.calls == 3
