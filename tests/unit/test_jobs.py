from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain.cutouts import CutoutOptions
from domain.errors import IllegalTransition
from domain.jobs import Job, JobStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def job(status: JobStatus) -> Job:
    return Job(uuid.uuid4(), status, CutoutOptions(), 1, NOW, NOW, lease_expires_at=NOW)


def test_success_finishes_the_job() -> None:
    j = job(JobStatus.RUNNING)
    j.move_to(JobStatus.SUCCEEDED, NOW)
    assert (j.status, j.progress, j.finished_at, j.lease_expires_at) == (JobStatus.SUCCEEDED, 100, NOW, None)


def test_failure_keeps_code_and_message() -> None:
    j = job(JobStatus.RUNNING)
    j.fail("invalid_image", "x" * 900, NOW)
    assert j.error_code == "invalid_image" and len(j.error_message or "") == 500


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (JobStatus.SUCCEEDED, JobStatus.FAILED),
        (JobStatus.FAILED, JobStatus.SUCCEEDED),
        (JobStatus.CANCELED, JobStatus.RUNNING),
        (JobStatus.QUEUED, JobStatus.SUCCEEDED),
        (JobStatus.EXPIRED, JobStatus.QUEUED),
    ],
)
def test_illegal_moves_are_refused(start: JobStatus, target: JobStatus) -> None:
    j = job(start)
    with pytest.raises(IllegalTransition):
        j.move_to(target, NOW)
    assert j.status is start
