"""Repositories of accounts: users, their sign-in sessions and their API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.sql.models import ApiKeyRow, SessionRow, UserRow
from adapters.sql.results import rowcount
from domain.api_keys import ApiKey
from domain.sessions import Session
from domain.users import User


def _user(row: UserRow) -> User:
    return User(row.id, row.email, row.password_hash, row.created_at, row.is_active, row.is_admin, row.webhook_secret)


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id, row.user_id, row.name, row.prefix, row.secret_hash, row.created_at, row.last_used_at, row.revoked_at
    )


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: User) -> None:
        """A taken email is ``EmailTaken``, by the unique constraint (``errors.py``)."""
        self._session.add(
            UserRow(
                id=user.id,
                email=user.email,
                password_hash=user.password_hash,
                created_at=user.created_at,
                is_active=user.is_active,
                is_admin=user.is_admin,
            )
        )
        await self._session.flush()

    async def get(self, user_id: uuid.UUID) -> User | None:
        row = await self._session.get(UserRow, user_id)
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await self._session.scalar(select(UserRow).where(UserRow.email == email))
        return _user(row) if row else None

    async def set_webhook_secret(self, user_id: uuid.UUID, secret: str) -> None:
        await self._session.execute(update(UserRow).where(UserRow.id == user_id).values(webhook_secret=secret))

    async def update_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self._session.execute(update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash))


class SqlApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, key: ApiKey) -> None:
        self._session.add(
            ApiKeyRow(
                id=key.id,
                user_id=key.user_id,
                name=key.name,
                prefix=key.prefix,
                secret_hash=key.secret_hash,
                created_at=key.created_at,
                last_used_at=key.last_used_at,
                revoked_at=key.revoked_at,
            )
        )
        await self._session.flush()

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        row = await self._session.get(ApiKeyRow, key_id)
        return _api_key(row) if row else None

    async def find_by_hash(self, secret_hash: str) -> ApiKey | None:
        row = await self._session.scalar(select(ApiKeyRow).where(ApiKeyRow.secret_hash == secret_hash))
        return _api_key(row) if row else None

    async def list_for_user(self, user_id: uuid.UUID) -> Sequence[ApiKey]:
        rows = await self._session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.user_id == user_id).order_by(ApiKeyRow.created_at)
        )
        return [_api_key(row) for row in rows]

    async def count_active(self, user_id: uuid.UUID) -> int:
        await self._session.execute(select(UserRow.id).where(UserRow.id == user_id).with_for_update())
        live = (ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_at.is_(None))
        count = await self._session.scalar(select(func.count()).select_from(ApiKeyRow).where(*live))
        return count or 0

    async def save(self, key: ApiKey) -> None:
        await self._session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key.id)
            .values(last_used_at=key.last_used_at, revoked_at=key.revoked_at)
        )


class SqlSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, session: Session) -> None:
        self._session.add(
            SessionRow(
                id=session.token_hash,
                user_id=session.user_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )
        await self._session.flush()

    async def get(self, token_hash: str) -> Session | None:
        row = await self._session.get(SessionRow, token_hash)
        return Session(row.id, row.user_id, row.created_at, row.expires_at) if row else None

    async def delete(self, token_hash: str) -> None:
        await self._session.execute(delete(SessionRow).where(SessionRow.id == token_hash))

    async def delete_expired(self, now: datetime) -> int:
        result = await self._session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
        return rowcount(result)
