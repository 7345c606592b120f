"""Rate limits on the cut-out routes: per API key, counted after authentication, with headers on every answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock, fake_image
from litestar import Litestar, Request, post
from litestar.di import NamedDependency, Provide
from litestar.testing import AsyncTestClient

from api.conftest import api_key, csrf, fake_adapters, make_settings, sign_up
from domain.use_cases.accounts import Authenticate
from domain.users import User
from entrypoints.http.app import create_app
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.rate_limit import RateLimits, add_rate_limit_headers, caller_key, rate_limited

BIG = fake_image(4000, 3000)


def cut_out(client: AsyncTestClient[Any], route: str, key: str, **extra: Any) -> Any:
    return client.post(route, files={"image_file": ("p.jpg", BIG)}, headers={"X-Api-Key": key}, **extra)


async def test_the_limit_per_key_with_headers_then_429_until_the_window_resets(tmp_path: Path) -> None:
    clock = FakeClock()  # 12:00:00, the start of a window
    adapters = fake_adapters(clock=clock)
    settings = make_settings(tmp_path, CUTOUT_RATE_LIMIT_PER_MINUTE="2")
    async with AsyncTestClient(create_app(settings, adapters)) as client:
        key, other = await api_key(client, "a@example.com"), await api_key(client, "b@example.com")
        reset = str(int(clock.now().timestamp()) + 60)
        first, second = await cut_out(client, "/v1.0/removebg", key), await cut_out(client, "/api/v1/removebg", key)
        assert first.status_code == second.status_code == 200
        assert [r.headers["x-ratelimit-remaining"] for r in (first, second)] == ["1", "0"]
        assert {(r.headers["x-ratelimit-limit"], r.headers["x-ratelimit-reset"]) for r in (first, second)} == {
            ("2", reset)
        }

        clock.advance(seconds=45)
        refused = await cut_out(client, "/v1.0/removebg", key)
        assert refused.status_code == 429
        assert refused.json() == {
            "errors": [
                {
                    "title": "Rate limit exceeded",
                    "code": "rate_limit_exceeded",
                    "detail": "Too many requests; wait a moment and try again.",
                }
            ]
        }
        assert refused.headers["retry-after"] == "15"
        assert (refused.headers["x-ratelimit-remaining"], refused.headers["x-ratelimit-reset"]) == ("0", reset)
        native = await cut_out(client, "/api/v1/removebg", key)
        assert native.status_code == 429 and native.json()["error"]["code"] == "rate_limited"
        assert native.headers["retry-after"] == "15" and native.headers["x-ratelimit-limit"] == "2"

        assert (await cut_out(client, "/v1.0/removebg", other)).status_code == 200  # a bucket of its own
        assert "x-ratelimit-limit" not in (await client.get("/v1.0/account", headers={"X-Api-Key": key})).headers

        clock.advance(seconds=15)
        again = await cut_out(client, "/v1.0/removebg", key)
        assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "1"
        assert adapters.remover.calls == 4  # type: ignore[attr-defined]  # refused requests never ran


async def test_failed_authentication_is_not_counted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, CUTOUT_RATE_LIMIT_PER_MINUTE="1")
    adapters = fake_adapters()
    async with AsyncTestClient(create_app(settings, adapters)) as client:
        for _ in range(3):
            assert (await cut_out(client, "/v1.0/removebg", "co_wrong")).status_code == 403
        assert adapters.rate_limiter.hits == {}  # type: ignore[attr-defined]


async def test_a_browser_session_counts_per_account(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, CUTOUT_RATE_LIMIT_PER_MINUTE="1")
    adapters = fake_adapters()
    async with AsyncTestClient(create_app(settings, adapters)) as client:
        account = await sign_up(client)
        headers = csrf(client)
        ok = await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, headers=headers)
        refused = await client.post("/api/v1/removebg", files={"image_file": ("p.jpg", BIG)}, headers=headers)
        assert (ok.status_code, refused.status_code) == (200, 429)
        assert adapters.rate_limiter.hits.popitem()[0][0] == f"user:{account['id']}"  # type: ignore[attr-defined]


def request_from(address: str, headers: dict[str, str] | None = None) -> Request[Any, Any, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw, "client": (address, 5000)})  # type: ignore[arg-type]


def test_anonymous_callers_count_per_address_and_keys_per_key() -> None:
    assert caller_key(request_from("203.0.113.9"), None) == "ip:203.0.113.9"
    user = User(uuid.uuid4(), "ada@example.com", "hash", datetime(2026, 1, 1, tzinfo=UTC))
    keyed = caller_key(request_from("203.0.113.9", {"X-Api-Key": "co_secret"}), user)
    assert keyed.startswith("key:") and "co_secret" not in keyed and len(keyed) <= 191
    assert keyed != caller_key(request_from("203.0.113.9", {"X-Api-Key": "co_other"}), user)


async def anonymous(request: Request[Any, Any, Any], authenticate: Authenticate) -> User | None:
    return None


async def test_any_route_can_be_limited_and_anonymous_callers_count_per_address(tmp_path: Path) -> None:
    """How another route applies the limit: its layer's ``user`` is ``rate_limited``, the hook adds the headers."""

    @post("/anonymous-preview", dependencies={"user": rate_limited(anonymous)})
    async def anonymous_preview(user: NamedDependency[User | None]) -> str:
        return "ok"

    settings = make_settings(tmp_path, CUTOUT_ANONYMOUS_RATE_LIMIT_PER_MINUTE="1")
    adapters = fake_adapters()
    app = Litestar(
        [anonymous_preview],
        dependencies={
            "authenticate": Provide(lambda: None, sync_to_thread=False),
            "rate_limits": Provide(
                lambda: RateLimits(settings, adapters.rate_limiter, adapters.clock), sync_to_thread=False
            ),
        },
        before_send=[add_rate_limit_headers],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
    async with AsyncTestClient(app) as client:
        ok, refused = await client.post("/anonymous-preview"), await client.post("/anonymous-preview")
    assert (ok.status_code, ok.headers["x-ratelimit-limit"], ok.headers["x-ratelimit-remaining"]) == (201, "1", "0")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert refused.json()["error"]["code"] == "rate_limited"
    buckets = [bucket for bucket, _ in adapters.rate_limiter.hits]  # type: ignore[attr-defined]
    assert buckets == ["ip:testclient", "preview:testclient"]


def test_the_limits_come_from_the_environment(tmp_path: Path) -> None:
    defaults = make_settings(tmp_path)
    assert (defaults.rate_limit_per_minute, defaults.anonymous_rate_limit_per_minute) == (500, 10)
    tuned = make_settings(tmp_path, CUTOUT_RATE_LIMIT_PER_MINUTE="40", CUTOUT_ANONYMOUS_RATE_LIMIT_PER_MINUTE="3")
    assert (tuned.rate_limit_per_minute, tuned.anonymous_rate_limit_per_minute) == (40, 3)
    for bad in ("0", "many"):
        with pytest.raises(SystemExit, match="CUTOUT_RATE_LIMIT_PER_MINUTE"):
            make_settings(tmp_path, CUTOUT_RATE_LIMIT_PER_MINUTE=bad)
