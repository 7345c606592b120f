"""Per-account login throttling, kept in memory of one process."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

FREE_ATTEMPTS = 5
WINDOW = timedelta(minutes=15)
MAX_LOCK = timedelta(minutes=15)


@dataclass(slots=True)
class _Record:
    failures: int = 0
    first_failure: datetime | None = None
    locked_until: datetime | None = None


@dataclass
class LoginThrottle:
    """After ``FREE_ATTEMPTS`` failures in ``WINDOW``, each further failure locks the account's
    logins for twice as long as the last (1 s, 2 s, 4 s, ... up to 15 minutes).

    Keyed by the normalised email whether or not the account exists, so it tells nothing."""

    _records: dict[str, _Record] = field(default_factory=dict)

    def retry_after(self, email: str, now: datetime) -> int:
        """Seconds until ``email`` may try again; 0 when it may now."""
        record = self._records.get(email)
        if record is None or record.locked_until is None or record.locked_until <= now:
            return 0
        return max(1, int((record.locked_until - now).total_seconds() + 0.999))

    def failed(self, email: str, now: datetime) -> None:
        record = self._records.setdefault(email, _Record())
        if record.first_failure is None or now - record.first_failure > WINDOW:
            record.failures, record.first_failure, record.locked_until = 0, now, None
        record.failures += 1
        excess = record.failures - FREE_ATTEMPTS
        if excess > 0:
            record.locked_until = now + min(MAX_LOCK, timedelta(seconds=2 ** (excess - 1)))
        if len(self._records) > 100_000:  # bound memory under a spray of addresses
            self._records.pop(next(iter(self._records)))

    def succeeded(self, email: str) -> None:
        self._records.pop(email, None)
