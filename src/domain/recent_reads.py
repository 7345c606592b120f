"""What a server remembers, for a few seconds, of what it read: who a credential belongs to, and
users' balances.

Every signed-in request needs the caller, and many show the balance; reading both from the database
costs some 30 times the rest of a small request (docs/benchmarks.md). The rule that makes remembering
safe: a change made by this process is forgotten at once (a revoked key, a logout, any ledger entry
it commits), and a change made by another process shows within ``seconds``. Charging never reads
from here: a charge is a conditional update in the database, so a stale balance can be shown but
never spent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from domain.users import User

K = TypeVar("K")
V = TypeVar("V")
MAX_REMEMBERED = 10_000


class RecentReads:
    def __init__(self, seconds: float, timer: Callable[[], float] = time.monotonic) -> None:
        self._callers: _Expiring[str, User] = _Expiring(seconds, timer)
        self._balances: _Expiring[uuid.UUID, int] = _Expiring(seconds, timer)
        self._forgets = 0

    @property
    def version(self) -> int:
        """Take it before a read and hand it to ``remember_*``: a read that a forget overtook (the
        change committed while the read was under way) is then not remembered."""
        return self._forgets

    def caller(self, credential_digest: str) -> User | None:
        return self._callers.get(credential_digest)

    def remember_caller(self, credential_digest: str, user: User, version: int) -> None:
        if version == self._forgets:
            self._callers.put(credential_digest, user)

    def forget_caller(self, credential_digest: str) -> None:
        self._forgets += 1
        self._callers.pop(credential_digest)

    def balance(self, user_id: uuid.UUID) -> int | None:
        return self._balances.get(user_id)

    def remember_balance(self, user_id: uuid.UUID, balance: int, version: int) -> None:
        if version == self._forgets:
            self._balances.put(user_id, balance)

    def forget_balance(self, user_id: uuid.UUID) -> None:
        self._forgets += 1
        self._balances.pop(user_id)


class _Expiring(Generic[K, V]):
    """A dict whose entries lapse ``seconds`` after they were put. The domain keeps to the standard
    library, and this needs little: when full it starts over, which costs only some re-reads."""

    def __init__(self, seconds: float, timer: Callable[[], float]) -> None:
        self._seconds, self._timer = seconds, timer
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._timer():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if self._seconds <= 0:
            return
        if len(self._entries) >= MAX_REMEMBERED:
            self._entries.clear()
        self._entries[key] = (self._timer() + self._seconds, value)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)
