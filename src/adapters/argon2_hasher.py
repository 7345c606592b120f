"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2


class Argon2Hasher:
    def __init__(self, memory_cost: int = OWASP_MEMORY_KIB, time_cost: int = OWASP_TIME_COST) -> None:
        self._hasher = PasswordHasher(memory_cost=memory_cost, time_cost=time_cost, parallelism=1, type=Type.ID)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await anyio.to_thread.run_sync(self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
