"""Inference jobs and the one function through which their status changes.

A synchronous cut-out that costs credits is recorded as a job too, with a lease: if the process
dies while it runs, the lease runs out and the job is failed and refunded by the reaper.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.CANCELED, JobStatus.FAILED},
    JobStatus.RUNNING: {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.QUEUED},
    JobStatus.SUCCEEDED: {JobStatus.EXPIRED},
    JobStatus.FAILED: set(),
    JobStatus.CANCELED: set(),
    JobStatus.EXPIRED: set(),
}


@dataclass(slots=True)
class Job:
    user_id: uuid.UUID
    status: JobStatus
    options: dict[str, Any]
    credits_reserved: int
    created_at: datetime
    updated_at: datetime
    lease_expires_at: datetime | None = None
    attempts: int = 0
    progress: int = 0
    error_code: str | None = None
    error_message: str | None = None
    finished_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def move_to(self, status: JobStatus, now: datetime) -> None:
        """Change status, refusing moves the life cycle does not allow."""
        if status not in _ALLOWED[self.status]:
            raise IllegalTransition(f"A {self.status.value} job cannot become {status.value}.")
        self.status = status
        self.updated_at = now
        if status.is_terminal:
            self.finished_at = now
            self.lease_expires_at = None
            if status is JobStatus.SUCCEEDED:
                self.progress = 100

    def fail(self, code: str, message: str, now: datetime) -> None:
        self.move_to(JobStatus.FAILED, now)
        self.error_code, self.error_message = code, message[:500]
