"""A credits storm on MariaDB: 200 concurrent full-size cut-outs over HTTP against a balance of 7.
Exactly 7 are delivered and charged, the rest get 402, and the ledger sums to the balance (0).
tests/contract/test_concurrent_charges.py does the small version (20 on 3) on both databases with fakes;
this one runs the real app with real imaging and SQL, and a model stand-in slow enough for overlap."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api.conftest import make_settings
from fakes import CentreMaskRemover
from images import encode, person_scene
from robustness.live_server import serve_in_thread
from robustness.real_app import migrated, real_adapters

from entrypoints.http.app import create_app

pytestmark = pytest.mark.mysql

REQUESTS = 200
BALANCE = 7


class SlowCentreMask(CentreMaskRemover):
    async def mask(self, picture: Any) -> Any:
        await asyncio.sleep(0.2)  # keeps every reservation's request in flight while the others arrive
        return await super().mask(picture)


@pytest.fixture(scope="module")
def remover() -> SlowCentreMask:
    return SlowCentreMask()


@pytest.fixture(scope="module")
def server(mysql_database: str, remover: SlowCentreMask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    asyncio.run(migrated(mysql_database))
    settings = make_settings(tmp_path_factory.mktemp("var"), CUTOUT_SIGNUP_CREDITS=str(BALANCE))
    with serve_in_thread(create_app(settings, real_adapters(mysql_database, remover=remover))) as base:
        yield base


async def test_two_hundred_concurrent_requests_on_seven_credits_charge_seven(
    server: str, remover: SlowCentreMask
) -> None:
    photo = encode(person_scene(640, 480)[0])  # 0.31 MP: one credit at full size
    # An idle connection is dropped by the client after 1 s, well before uvicorn closes it (5 s): on a busy
    # machine a late request could otherwise be sent on a connection the server is closing.
    limits = httpx.Limits(max_connections=REQUESTS, keepalive_expiry=1)
    async with httpx.AsyncClient(base_url=server, timeout=120, limits=limits) as client:
        await client.post("/api/v1/auth/signup", json={"email": "storm@example.com", "password": "correct horse"})
        created = await client.post(
            "/api/v1/api-keys", json={"name": "storm"}, headers={"X-CSRFToken": client.cookies["csrftoken"]}
        )
        client.cookies.clear()
        client.headers["X-Api-Key"] = created.json()["key"]

        async def cut() -> httpx.Response:
            return await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", photo)}, data={"size": "full"})

        responses = await asyncio.gather(*(cut() for _ in range(REQUESTS)))
        statement = (await client.get("/api/v1/credits", params={"limit": 100})).json()

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * BALANCE + [402] * (REQUESTS - BALANCE)
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 402} == {"insufficient_credits"}
    assert sum(int(r.headers.get("x-credits-charged", "0")) for r in responses) == BALANCE
    assert remover.calls == BALANCE
    assert statement["balance"] == 0
    assert statement["total"] == 1 + BALANCE  # the sign-up grant and one charge per delivered cut-out
    assert sum(entry["delta"] for entry in statement["entries"]) == statement["balance"]
    assert sorted(entry["kind"] for entry in statement["entries"]) == ["charge"] * BALANCE + ["signup_grant"]
