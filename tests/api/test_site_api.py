"""The routes behind the site: plans, the contact form, the session probe, and the pages at ``/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.conftest import csrf, fake_adapters, make_settings, sign_up
from entrypoints.bootstrap import Adapters
from entrypoints.http.app import create_app

MESSAGE = {"name": "Ada", "email": "Ada@Example.com", "message": "Does Cutout keep my photos?"}


async def test_plans_come_from_the_domain_with_the_configured_signup_credits(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, CUTOUT_SIGNUP_CREDITS="7")
    async with AsyncTestClient(create_app(settings, fake_adapters())) as client:
        plans = (await client.get("/api/v1/plans")).json()["data"]
    assert [p["kind"] for p in plans] == ["free", "pack", "pack", "subscription"]
    free = plans[0]
    assert (free["credits"], free["price_cents"]) == (7, 0)
    assert all(p["credits"] > 0 and p["currency"] == "EUR" and not p["purchasable"] for p in plans)
    assert plans[-1]["interval"] == "month" and plans[1]["interval"] is None


async def test_a_contact_message_is_stored(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    response = await client.post("/api/v1/contact", json=MESSAGE)
    assert response.status_code == 202 and response.json() == {"status": "received"}
    [stored] = adapters.uow.db.contacts  # type: ignore[attr-defined]
    assert (stored.name, stored.email, stored.message) == ("Ada", "ada@example.com", MESSAGE["message"])


async def test_a_filled_honeypot_gets_the_same_answer_and_stores_nothing(
    client: AsyncTestClient[Any], adapters: Adapters
) -> None:
    response = await client.post("/api/v1/contact", json={**MESSAGE, "website": "http://spam.example"})
    assert response.status_code == 202 and response.json() == {"status": "received"}
    assert adapters.uow.db.contacts == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"name": "  "}, "invalid_field", "name"),
        ({"name": "n" * 101}, "field_too_long", "name"),
        ({"email": "not an email"}, "invalid_email", "email"),
        ({"message": "too short"}, "invalid_field", "message"),
        ({"message": "m" * 5001}, "field_too_long", "message"),
    ],
)
async def test_bad_fields_are_422_and_name_the_field(
    client: AsyncTestClient[Any], adapters: Adapters, change: dict[str, str], code: str, field: str
) -> None:
    response = await client.post("/api/v1/contact", json={**MESSAGE, **change})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]["field"]) == (code, field)
    assert error["message"]
    assert adapters.uow.db.contacts == []  # type: ignore[attr-defined]


async def test_a_missing_field_is_400(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/api/v1/contact", json={"name": "Ada"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


async def test_contact_is_limited_per_address(client: AsyncTestClient[Any], adapters: Adapters) -> None:
    answers = [(await client.post("/api/v1/contact", json=MESSAGE)) for _ in range(6)]
    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert int(answers[-1].headers["retry-after"]) > 0
    assert len(adapters.uow.db.contacts) == 5  # type: ignore[attr-defined]


async def test_a_signed_in_browser_sends_the_csrf_header(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    refused = await client.post("/api/v1/contact", json=MESSAGE)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert (await client.post("/api/v1/contact", json=MESSAGE, headers=csrf(client))).status_code == 202


async def test_the_session_probe_never_401s(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/api/v1/auth/session")).json() == {"signed_in": False, "account": None}
    await sign_up(client)
    state = (await client.get("/api/v1/auth/session")).json()
    assert state["signed_in"] and state["account"]["email"] == "ada@example.com"
    assert state["account"]["credits"] == 3
    await client.post("/api/v1/auth/logout", headers=csrf(client))
    client.cookies.set("cutout_session", "ended-session-token")
    assert (await client.get("/api/v1/auth/session")).json() == {"signed_in": False, "account": None}


def build_fake_site(directory: Path) -> None:
    (directory / "login").mkdir(parents=True)
    (directory / "index.html").write_text("<h1>home</h1>")
    (directory / "login" / "index.html").write_text("<h1>login</h1>")
    (directory / "404.html").write_text("<h1>lost</h1>")
    (directory / "robots.txt").write_text("User-agent: *\n")


async def test_the_site_is_served_at_the_root_beside_the_api(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    build_fake_site(settings.site_dir)
    async with AsyncTestClient(create_app(settings, fake_adapters())) as client:
        home = await client.get("/")
        assert home.status_code == 200 and home.text == "<h1>home</h1>"
        assert home.headers["content-type"].startswith("text/html")
        assert (await client.get("/login/")).text == "<h1>login</h1>"
        assert (await client.get("/robots.txt")).text == "User-agent: *\n"
        lost = await client.get("/no-such-page/")
        assert lost.status_code == 404 and lost.text == "<h1>lost</h1>"
        assert (await client.get("/health/live")).json()["status"] == "ok"
        assert (await client.get("/schema/openapi.json")).json()["info"]["title"] == "Cutout API"
        assert (await client.get("/api/v1/plans")).status_code == 200
        api_lost = await client.get("/api/v1/nothing-here")
        assert api_lost.status_code == 404 and api_lost.json()["error"]["code"] == "not_found"
        assert (await client.get("/api/v1/me")).json()["error"]["code"] == "unauthorized"
        assert "csrftoken" in home.cookies  # pages hand out the CSRF cookie the forms echo


async def test_the_api_works_when_the_site_was_never_built(tmp_path: Path) -> None:
    async with AsyncTestClient(create_app(make_settings(tmp_path), fake_adapters())) as client:
        assert (await client.get("/")).status_code == 404
        assert (await client.get("/api/v1/plans")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200
