"""Inference jobs and the one function through which their status changes.

A job is either asynchronous (submitted to the queue, claimed by a worker, its input and result
kept in the blob store until the retention window ends) or the record of a paid synchronous
cut-out, which runs under a lease: if the process dies, the lease runs out and the reaper fails
and refunds it.
"""

from __future__ import annotations

import enum
import hashlib
import json
import random
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta

from domain.cutouts import CutoutOptions, ImageSource
from domain.errors import IllegalTransition


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.EXPIRED}

_ALLOWED: dict[JobStatus, set[JobStatus]] = {
    JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.CANCELED, JobStatus.FAILED, JobStatus.EXPIRED},
    JobStatus.RUNNING: {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.QUEUED},
    JobStatus.SUCCEEDED: {JobStatus.EXPIRED},
    JobStatus.FAILED: set(),
    JobStatus.CANCELED: set(),
    JobStatus.EXPIRED: set(),
}


@dataclass(frozen=True, slots=True)
class JobResult:
    """Where a finished job's image is and what it is."""

    key: str
    media_type: str
    width: int
    height: int


@dataclass(slots=True)
class Job:
    user_id: uuid.UUID
    status: JobStatus
    options: CutoutOptions
    credits_reserved: int
    created_at: datetime
    updated_at: datetime
    sync: bool = False
    lease_expires_at: datetime | None = None
    attempts: int = 0
    progress: int = 0
    error_code: str | None = None
    error_message: str | None = None
    finished_at: datetime | None = None
    available_at: datetime | None = None
    worker_id: str | None = None
    input_key: str | None = None
    background_key: str | None = None
    """Where a queued job's background image waits beside its input; the options never hold its bytes."""
    result: JobResult | None = None
    idempotency_key: str | None = None
    fingerprint: str | None = None
    callback_url: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def move_to(self, status: JobStatus, now: datetime) -> None:
        """Change status, refusing moves the life cycle does not allow."""
        if status not in _ALLOWED[self.status]:
            raise IllegalTransition(f"A {self.status.value} job cannot become {status.value}.")
        self.status = status
        self.updated_at = now
        self.lease_expires_at = None
        self.worker_id = None
        if status.is_terminal:
            self.finished_at = now
            self.available_at = None
            if status is JobStatus.SUCCEEDED:
                self.progress = 100

    def start(self, worker_id: str, lease: timedelta, now: datetime) -> None:
        self.move_to(JobStatus.RUNNING, now)
        self.attempts += 1
        self.worker_id = worker_id
        self.lease_expires_at = now + lease

    def retry_at(self, when: datetime, code: str, message: str, now: datetime) -> None:
        """Back to the queue after a transient failure, claimable again from ``when``."""
        self.move_to(JobStatus.QUEUED, now)
        self.available_at = when
        self.progress = 0
        self.error_code, self.error_message = code, message[:500]

    def fail(self, code: str, message: str, now: datetime) -> None:
        self.move_to(JobStatus.FAILED, now)
        self.error_code, self.error_message = code, message[:500]

    def is_held_by(self, worker_id: str) -> bool:
        return self.status is JobStatus.RUNNING and self.worker_id == worker_id


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Transient failures are retried up to ``max_attempts`` runs in all, after an exponentially
    growing delay with full jitter (so a burst of failures does not come back as one burst)."""

    max_attempts: int = 3
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=5)

    def may_retry(self, job: Job) -> bool:
        return job.attempts < self.max_attempts

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        doubling: int = 2 ** max(0, attempts - 1)
        ceiling = min(self.max_delay, self.base_delay * doubling)
        return ceiling * (rng or random).uniform(0.5, 1.0)


def fingerprint(source: ImageSource, options: CutoutOptions, callback_url: str | None) -> str:
    """What makes two submissions "the same request" for an idempotency key: SHA-256 of a canonical
    JSON of the image and a background image (each as its own SHA-256, or its URL), every other
    option, and the callback URL. No image is copied."""
    document = {
        "image": _source_digest(source),
        "background": _source_digest(options.bg_image) if options.bg_image is not None else None,
        "options": asdict(replace(options, bg_image=None)),
        "callback_url": callback_url or "",
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _source_digest(source: ImageSource) -> dict[str, str]:
    if source.data is not None:
        return {"sha256": hashlib.sha256(source.data).hexdigest()}
    return {"url": source.url or ""}


def input_key(job_id: uuid.UUID) -> str:
    return f"jobs/{job_id}/input"


def background_key(job_id: uuid.UUID) -> str:
    return f"jobs/{job_id}/background"


def result_key(job_id: uuid.UUID) -> str:
    return f"jobs/{job_id}/result"
