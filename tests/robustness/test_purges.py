"""Tables that grew for ever (issue #12 defect 3): the worker's chores purge ended sessions, finished
rate-limit windows of callers who never came back and login attempts past their window and lock, on
SQLite and MariaDB, through the real app's own worker loop. Rows still in use stay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from robustness.accounts_app import app_client, csrf, database_url, signed_up
from sqlalchemy import func, insert, select

from adapters.sql.engine import create_engine
from adapters.sql.models import LoginAttemptRow, RateLimitRow, SessionRow
from entrypoints.worker import Schedule

__all__ = ["database_url"]  # the fixture

PURGE_OFTEN = Schedule(poll=0.05, callbacks=0.05, reclaim=0.05, retention=0.05, purge=0.05)
PATIENCE_SECONDS = 60


async def test_the_worker_purges_what_has_expired_and_keeps_the_rest(database_url: str, tmp_path: Path) -> None:
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with app_client(database_url, tmp_path, PURGE_OFTEN) as client:
            account = await signed_up(client, "ada@example.com")  # a live session
            bob = {"email": "bob@example.com", "password": "wrong password"}
            assert (await client.post("/api/v1/auth/login", json=bob, headers=csrf(client))).status_code == 401
            async with engine.begin() as connection:
                user_id = uuid.UUID(account["id"])
                ended = now - timedelta(days=1)
                await connection.execute(
                    insert(SessionRow).values(id="0" * 64, user_id=user_id, created_at=ended, expires_at=ended)
                )
                gone = int((now - timedelta(hours=2)).timestamp())
                await connection.execute(
                    insert(RateLimitRow).values(
                        bucket="ip:198.51.100.7", window_start=gone, hits=3, expires_at=gone + 60
                    )
                )
                await connection.execute(
                    insert(LoginAttemptRow).values(
                        key="f" * 64, count=3, window_start=ended, locked_until=None, expires_at=ended
                    )
                )

            async def left() -> tuple[int, int, int]:
                async with engine.connect() as connection:
                    sessions, rate_limits, login_attempts = [
                        await connection.scalar(select(func.count()).select_from(row.__table__)) or 0
                        for row in (SessionRow, RateLimitRow, LoginAttemptRow)
                    ]
                    return sessions, rate_limits, login_attempts

            async with asyncio.timeout(PATIENCE_SECONDS):
                while (counts := await left()) != (1, 2, 1):
                    await asyncio.sleep(0.05)
            # What is left is what is in use: the sign-up's session, this minute's login and sign-up
            # counts of the test client's address, and bob's attempt.
            assert (await client.get("/api/v1/me")).status_code == 200
            assert counts == (1, 2, 1)
    finally:
        await engine.dispose()
