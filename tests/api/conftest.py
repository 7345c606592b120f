"""The Litestar app built by its factory, with fakes behind every port unless a test says otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes import (
    FakeBlobStore,
    FakeClock,
    FakeFetcher,
    FakeHasher,
    FakeImaging,
    FakeLoginAttempts,
    FakeRateLimiter,
    FakeRemover,
    FakeUnitOfWorkFactory,
    FakeWebhookSender,
)
from litestar.testing import AsyncTestClient

from entrypoints.bootstrap import Adapters
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

PASSWORD = "correct horse battery"


def make_settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "CUTOUT_DATA_DIR": str(tmp_path),
            "CUTOUT_SECRET_KEY": "test-secret",
            "CUTOUT_SITE_DIR": str(tmp_path / "site"),
            **env,
        }
    )


def fake_adapters(**overrides: Any) -> Adapters:
    clock = overrides.pop("clock", None) or FakeClock()
    parts: dict[str, Any] = {
        "uow": FakeUnitOfWorkFactory(),
        "hasher": FakeHasher(),
        "clock": clock,
        "rate_limiter": FakeRateLimiter(clock),
        "login_attempts": FakeLoginAttempts(),
        "blob_store": FakeBlobStore(clock),
        "webhook_sender": FakeWebhookSender(),
        "imaging": FakeImaging(),
        "remover": FakeRemover(),
        "fetcher": FakeFetcher(),
    }
    parts.update(overrides)
    return Adapters(**parts)


@pytest.fixture
def adapters() -> Adapters:
    return fake_adapters()


@pytest.fixture
async def client(tmp_path: Path, adapters: Adapters) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(make_settings(tmp_path), adapters)) as client:
        yield client


async def sign_up(client: AsyncTestClient[Any], email: str = "ada@example.com") -> dict[str, Any]:
    response = await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()


def csrf(client: AsyncTestClient[Any]) -> dict[str, str]:
    return {"X-CSRFToken": client.cookies["csrftoken"]}


async def api_key(client: AsyncTestClient[Any], email: str = "ada@example.com") -> str:
    """Sign up a fresh account and return one of its API keys; the client keeps no cookies."""
    await sign_up(client, email)
    response = await client.post("/api/v1/api-keys", json={"name": "test"}, headers=csrf(client))
    assert response.status_code == 201, response.text
    client.cookies.clear()
    return response.json()["key"]
