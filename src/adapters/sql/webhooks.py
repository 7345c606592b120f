"""Job callbacks waiting for delivery, claimed with ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.sql.models import WebhookDeliveryRow
from domain.webhooks import DeliveryStatus, WebhookDelivery


class SqlWebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, delivery: WebhookDelivery) -> None:
        exists = await self._session.scalar(
            select(func.count()).select_from(WebhookDeliveryRow).where(WebhookDeliveryRow.job_id == delivery.job_id)
        )
        if not exists:
            self._session.add(WebhookDeliveryRow(id=delivery.id, **_delivery_columns(delivery)))
            await self._session.flush()

    async def claim_due(self, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
        rows = await self._session.scalars(
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.status == DeliveryStatus.PENDING.value, WebhookDeliveryRow.next_attempt_at <= now)
            .order_by(WebhookDeliveryRow.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_delivery(row) for row in rows]

    async def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        row = await self._session.get(WebhookDeliveryRow, delivery_id)
        return _delivery(row) if row else None

    async def save(self, delivery: WebhookDelivery) -> None:
        await self._session.execute(
            update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery.id).values(**_delivery_columns(delivery))
        )


def _delivery(row: WebhookDeliveryRow) -> WebhookDelivery:
    return WebhookDelivery(
        job_id=row.job_id,
        user_id=row.user_id,
        url=row.url,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        id=row.id,
    )


def _delivery_columns(delivery: WebhookDelivery) -> dict[str, object]:
    return {
        "job_id": delivery.job_id,
        "user_id": delivery.user_id,
        "url": delivery.url,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
    }
