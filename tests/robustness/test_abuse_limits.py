"""Abuse limits through the real app, on SQLite and MariaDB (issue #16 finding 7, issue #12 defect 5).

Before: 15 accounts (3 free credits each) from one address in 1.3 s, unlimited logins per address
(password spraying), unlimited API keys per account, each with a rate-limit bucket of its own; and a
hard-coded 10-previews-an-hour cap behind ``CUTOUT_ANONYMOUS_RATE_LIMIT_PER_MINUTE`` whose 429 came
with ``X-RateLimit-Remaining: 9``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from fakes import FakeClock
from images import encode, person_scene
from robustness.accounts_app import PASSWORD, app_client, database_url, login, new_key, signed_up

__all__ = ["database_url"]  # the fixture


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def assert_rate_limited(response: httpx.Response, retry_after: int) -> None:
    assert (response.status_code, error_code(response)) == (429, "rate_limited"), response.text
    assert response.headers["retry-after"] == str(retry_after)


async def test_sign_ups_per_address_are_limited(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()  # 12:00:00: an hour's window starts
    async with app_client(database_url, tmp_path, clock=clock) as client:  # the default: 5 an hour
        for i in range(5):
            await signed_up(client, f"user{i}@example.com")
            client.cookies.clear()
        clock.advance(minutes=10)
        refused = await client.post("/api/v1/auth/signup", json={"email": "user5@example.com", "password": PASSWORD})
        assert_rate_limited(refused, 3000)
    # Another server process with a higher limit: the count (refused attempts included) is shared.
    async with app_client(database_url, tmp_path, clock=clock, CUTOUT_SIGNUPS_PER_HOUR="7") as client:
        await signed_up(client, "user5@example.com")
        client.cookies.clear()
        again = await client.post("/api/v1/auth/signup", json={"email": "user6@example.com", "password": PASSWORD})
        assert_rate_limited(again, 3000)
        clock.advance(minutes=50)
        await signed_up(client, "user6@example.com")


async def test_logins_per_address_are_limited_whatever_the_account(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    async with app_client(database_url, tmp_path, clock=clock) as client:  # the default: 20 a minute
        await signed_up(client, "ada@example.com")
        client.cookies.clear()
        statuses = [(await login(client, f"user{i}@example.com", "Summer2026!")).status_code for i in range(20)]
        assert statuses == [401] * 20  # a spray: one guess for each of many accounts
        clock.advance(seconds=15)
        assert_rate_limited(await login(client, "ada@example.com", PASSWORD), 45)  # even the right password
        clock.advance(seconds=45)
        assert (await login(client, "ada@example.com", PASSWORD)).status_code == 200
    async with app_client(database_url, tmp_path, clock=clock, CUTOUT_LOGINS_PER_MINUTE="1") as client:
        assert_rate_limited(await login(client, "ada@example.com", PASSWORD), 60)


async def test_api_keys_per_account_are_limited(database_url: str, tmp_path: Path) -> None:
    async with app_client(database_url, tmp_path, CUTOUT_MAX_API_KEYS="3") as client:
        await signed_up(client, "ada@example.com")
        keys = [(await new_key(client, f"k{i}")).json() for i in range(3)]
        refused = await new_key(client, "one too many")
        assert (refused.status_code, error_code(refused)) == (409, "too_many_api_keys")
        assert refused.json()["error"]["details"] == {"limit": 3}
        revoked = await client.delete(
            f"/api/v1/api-keys/{keys[0]['id']}", headers={"X-CSRFToken": client.cookies["csrftoken"]}
        )
        assert revoked.status_code == 204
        assert (await new_key(client, "replacement")).status_code == 201  # revoked keys do not count


async def test_rotating_api_keys_gains_no_requests(database_url: str, tmp_path: Path) -> None:
    photo = encode(person_scene(320, 240)[0])
    async with app_client(database_url, tmp_path, clock=FakeClock(), CUTOUT_RATE_LIMIT_PER_MINUTE="3") as client:
        await signed_up(client, "ada@example.com")
        keys = [(await new_key(client, f"k{i}")).json()["key"] for i in range(3)]
        client.cookies.clear()
        answers = [
            await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", photo)}, headers={"X-Api-Key": key})
            for key in keys + keys
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0", "0", "0"]
    assert_rate_limited(answers[3], 60)


async def test_signed_out_previews_follow_one_configurable_policy(database_url: str, tmp_path: Path) -> None:
    photo = encode(person_scene(320, 240)[0])
    clock = FakeClock()
    async with app_client(
        database_url,
        tmp_path,
        clock=clock,
        CUTOUT_ANONYMOUS_PREVIEWS_PER_HOUR="12",
        CUTOUT_ANONYMOUS_RATE_LIMIT_PER_MINUTE="100",
    ) as client:
        answers = [
            await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", photo)}, data={"size": "preview"})
            for _ in range(12)
        ]
        clock.advance(minutes=20)
        refused = await client.post(
            "/api/v1/removebg", files={"image_file": ("p.jpg", photo)}, data={"size": "preview"}
        )
    assert [a.status_code for a in answers] == [200] * 12  # more than the 10 once hard-coded
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == [str(11 - i) for i in range(12)]
    assert_rate_limited(refused, 2400)
    assert (refused.headers["x-ratelimit-limit"], refused.headers["x-ratelimit-remaining"]) == ("12", "0")
    assert int(refused.headers["x-ratelimit-reset"]) == int(clock.now().timestamp()) + 2400  # the hour that refused


async def test_the_per_minute_limit_of_signed_out_callers_is_described_when_it_refuses(
    database_url: str, tmp_path: Path
) -> None:
    photo = encode(person_scene(320, 240)[0])
    async with app_client(
        database_url,
        tmp_path,
        clock=FakeClock(),
        CUTOUT_ANONYMOUS_PREVIEWS_PER_HOUR="50",
        CUTOUT_ANONYMOUS_RATE_LIMIT_PER_MINUTE="2",
    ) as client:
        answers = [
            await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", photo)}, data={"size": "preview"})
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert (answers[2].headers["x-ratelimit-limit"], answers[2].headers["x-ratelimit-remaining"]) == ("2", "0")
    assert_rate_limited(answers[2], 60)
