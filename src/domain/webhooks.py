"""Callbacks: when a job with a ``callback_url`` ends, its JSON is POSTed there, signed the
Standard Webhooks way with the user's secret, and retried with backoff until it is accepted.

A delivery is a row written in the same transaction that ends the job, so a crash cannot lose
it, and the unique job id makes "one delivery per job" a database fact.
"""

from __future__ import annotations

import base64
import enum
import secrets
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import FieldTooLong, InvalidOption

SECRET_PREFIX = "whsec_"
MAX_CALLBACK_URL_LENGTH = 2000  # the jobs.callback_url column


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(slots=True)
class WebhookDelivery:
    job_id: uuid.UUID
    user_id: uuid.UUID
    url: str
    created_at: datetime
    next_attempt_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Up to ``max_attempts`` tries, waiting ``first_delay`` doubled each time, at most ``max_delay``.

    ``in_flight`` is how long a claimed delivery is hidden from other workers while it is sent.
    """

    max_attempts: int = 8
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=1)
    in_flight: timedelta = timedelta(seconds=60)

    def next_delay(self, attempts: int) -> timedelta:
        doubling: int = 2 ** max(0, attempts - 1)
        return min(self.max_delay, self.first_delay * doubling)


def new_secret() -> str:
    """A signing secret in the ``whsec_<base64>`` form Standard Webhooks libraries accept."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def check_callback_url(url: str) -> str:
    """Shape only (http or https, a host, no credentials); where it points is checked on delivery."""
    url = url.strip()
    if len(url) > MAX_CALLBACK_URL_LENGTH:
        raise FieldTooLong(field="callback_url", max_length=MAX_CALLBACK_URL_LENGTH)
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unclosed "[" of an IPv6 host, a port that is not a number
        host = None
    if not host or parts.scheme not in ("http", "https") or "@" in parts.netloc:
        raise InvalidOption("callback_url must be an http or https URL.", field="callback_url")
    return url
