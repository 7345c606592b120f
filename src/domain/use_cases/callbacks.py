"""Delivering job callbacks: signed, retried with backoff, each job's at most once accepted."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.errors import DomainError, UrlNotAllowed
from domain.jobs import Job
from domain.ports import BlobStore, Clock, UnitOfWorkFactory, WebhookSender
from domain.use_cases.jobs import result_link
from domain.webhooks import DeliveryPolicy, DeliveryStatus, WebhookDelivery

log = logging.getLogger(__name__)


def job_document(job: Job, result_url: str | None) -> dict[str, Any]:
    """The job as the API shows it and callbacks send it."""
    return {
        "id": str(job.id),
        "status": job.status.value,
        "progress": job.progress,
        "credits": job.credits_reserved,
        "attempts": job.attempts,
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "finished_at": _iso(job.finished_at),
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "result": (
            {
                "url": result_url,
                "media_type": job.result.media_type,
                "width": job.result.width,
                "height": job.result.height,
            }
            if job.result and result_url
            else None
        ),
        "callback_url": job.callback_url,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass
class DeliverCallbacks:
    """Send due callbacks.

    Business rules:
    - A delivery is claimed (hidden from other workers for ``DeliveryPolicy.in_flight``) before it
      is sent, so two workers never send the same attempt.
    - The body is ``{"type": "job.<status>", "timestamp", "data": <the job>}``, signed with the
      owner's current secret; the ``webhook-id`` is the delivery's id, the same on every retry, so
      receivers can drop duplicates.
    - A 2xx answer delivers it. Anything else is retried after a doubling delay, up to
      ``max_attempts``; a URL that may never be called (a private address) fails at once.
    Returns how many deliveries were attempted.
    """

    uow: UnitOfWorkFactory
    sender: WebhookSender
    blobs: BlobStore
    clock: Clock
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    batch: int = 20

    async def __call__(self) -> int:
        claimed = await self._claim()
        for delivery in claimed:
            await self._attempt(delivery)
        return len(claimed)

    async def _claim(self) -> list[WebhookDelivery]:
        now = self.clock.now()
        async with self.uow() as uow:
            due = list(await uow.webhooks.claim_due(now, self.batch))
            for delivery in due:
                delivery.attempts += 1
                delivery.next_attempt_at = now + self.policy.in_flight
                await uow.webhooks.save(delivery)
            await uow.commit()
        return due

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        async with self.uow() as uow:
            job = await uow.jobs.get(delivery.job_id)
            owner = await uow.users.get(delivery.user_id)
        error: str | None = None
        permanent = False
        if job is None or owner is None or not owner.webhook_secret:
            error, permanent = "The job or its owner is gone.", True
        else:
            try:
                await self.sender.send(delivery.url, owner.webhook_secret, str(delivery.id), await self._payload(job))
            except DomainError as failure:
                error, permanent = failure.message, isinstance(failure, UrlNotAllowed)
        await self._record(delivery, error, permanent)

    async def _payload(self, job: Job) -> bytes:
        url = (await result_link(job, self.blobs)).url if job.result else None
        body = {
            "type": f"job.{job.status.value}",
            "timestamp": self.clock.now().isoformat(),
            "data": job_document(job, url),
        }
        return json.dumps(body, separators=(",", ":")).encode()

    async def _record(self, delivery: WebhookDelivery, error: str | None, permanent: bool) -> None:
        now = self.clock.now()
        if error is None:
            delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.DELIVERED, now, None
        elif permanent or delivery.attempts >= self.policy.max_attempts:
            delivery.status, delivery.last_error = DeliveryStatus.FAILED, error[:500]
            log.warning("callback for job %s failed for good: %s", delivery.job_id, error)
        else:
            delivery.next_attempt_at = now + self.policy.next_delay(delivery.attempts)
            delivery.last_error = error[:500]
        async with self.uow() as uow:
            await uow.webhooks.save(delivery)
            await uow.commit()
