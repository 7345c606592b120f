"""The JSON shapes of the job API; the same document is the body of a job's callback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

JobStatusName = Literal["queued", "running", "succeeded", "failed", "canceled", "expired"]


class JobError(msgspec.Struct):
    code: str
    message: str | None


class JobResultView(msgspec.Struct):
    url: str
    """A time-limited link anyone holding it can download the image from."""
    media_type: str
    width: int
    height: int


class JobView(msgspec.Struct):
    id: uuid.UUID
    status: JobStatusName
    progress: int
    credits: int
    attempts: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    error: JobError | None
    result: JobResultView | None
    callback_url: str | None


class JobList(msgspec.Struct):
    data: list[JobView]
    total: int
    limit: int
    offset: int


class WebhookSecret(msgspec.Struct):
    secret: str
    """Signs your callbacks (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)."""
