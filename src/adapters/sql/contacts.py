"""Messages sent through the contact form."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.sql.models import ContactMessageRow
from domain.contact import ContactMessage


class SqlContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, message: ContactMessage) -> None:
        self._session.add(
            ContactMessageRow(
                id=message.id,
                name=message.name,
                email=message.email,
                message=message.message,
                created_at=message.created_at,
            )
        )
        await self._session.flush()

    async def recent(self, limit: int) -> Sequence[ContactMessage]:
        rows = await self._session.scalars(
            select(ContactMessageRow)
            .order_by(ContactMessageRow.created_at.desc(), ContactMessageRow.id.desc())
            .limit(limit)
        )
        return [ContactMessage(r.name, r.email, r.message, r.created_at, r.id) for r in rows]
