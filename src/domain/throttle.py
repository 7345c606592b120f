"""Per-account login throttling: the rule. The counts live in a store every server process shares
(the ``LoginAttemptStore`` port), keyed by a digest of the canonical address."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_ATTEMPTS = 5
WINDOW = timedelta(minutes=15)
MAX_LOCK = timedelta(minutes=15)


def throttle_key(canonical_email: str) -> str:
    """What an address is counted under: its SHA-256, so a stored key has a fixed size and names nobody."""
    return hashlib.sha256(canonical_email.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LoginAttempts:
    """The attempts counted for one address since ``window_start``, and the lock they earned.

    An attempt is counted before its password is checked (so parallel guesses cannot all slip in
    before the first failure is booked) and a success forgets them all. After ``FREE_ATTEMPTS``
    in ``WINDOW``, each further attempt locks the address for twice as long as the last (1 s,
    2 s, 4 s, ... up to ``MAX_LOCK``). Whether the account exists makes no difference."""

    count: int
    window_start: datetime
    locked_until: datetime | None = None

    def retry_after(self, now: datetime) -> int:
        """Seconds until this address may try again; 0 when it may now."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return max(1, int((self.locked_until - now).total_seconds() + 0.999))

    def counted(self, now: datetime) -> LoginAttempts:
        """These attempts and one more at ``now`` (which ``retry_after`` allowed)."""
        if now - self.window_start > WINDOW:
            return LoginAttempts(1, now)
        count = self.count + 1
        excess = count - FREE_ATTEMPTS
        locked_until = now + min(MAX_LOCK, timedelta(seconds=2 ** min(excess - 1, 20))) if excess > 0 else None
        return LoginAttempts(count, self.window_start, locked_until)

    @property
    def expires_at(self) -> datetime:
        """When the record stops mattering: its window and its lock are both over."""
        end = self.window_start + WINDOW
        return max(end, self.locked_until) if self.locked_until else end


def first_attempt(now: datetime) -> LoginAttempts:
    """The record of an address that has no attempts counted: none yet, in a window opening now."""
    return LoginAttempts(0, now)
