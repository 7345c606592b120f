"""The baseline of the API-overhead benchmark: a Litestar handler answering a JSON body shaped like
GET /api/v1/me, with no authentication, database or middleware."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Litestar, get

ACCOUNT = {
    "id": "0b4f1c9e-6d1c-4a53-9d3e-6f1f0e2a7c11",
    "email": "bench@example.com",
    "credits": 1000000,
    "created_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
}


@get("/api/v1/me")
async def me() -> dict[str, object]:
    return ACCOUNT


app = Litestar([me])
