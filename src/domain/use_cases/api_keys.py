"""Creating, listing and revoking a user's API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from domain.api_keys import ApiKey, issue_api_key
from domain.errors import NotFound, TooManyApiKeys
from domain.ports import Clock, UnitOfWorkFactory
from domain.recent_reads import RecentReads
from domain.users import User


@dataclass
class CreateApiKey:
    """A named key for the user; the secret is returned here once and never stored in clear.

    An account holds at most ``max_active`` unrevoked keys (``CUTOUT_MAX_API_KEYS``), counted in the
    transaction that adds the key with the account's row locked; one more is ``TooManyApiKeys``.
    Rate limits count per account as well as per key, so more keys never buy more requests."""

    uow: UnitOfWorkFactory
    clock: Clock
    max_active: int

    async def __call__(self, user: User, name: str) -> tuple[ApiKey, str]:
        key, secret = issue_api_key(user.id, name, self.clock.now())
        async with self.uow() as uow:
            if await uow.api_keys.count_active(user.id) >= self.max_active:
                raise TooManyApiKeys(limit=self.max_active)
            await uow.api_keys.add(key)
            await uow.commit()
        return key, secret


@dataclass
class ListApiKeys:
    """The user's own keys, revoked ones included, oldest first; never their secrets."""

    uow: UnitOfWorkFactory

    async def __call__(self, user: User) -> Sequence[ApiKey]:
        async with self.uow() as uow:
            return await uow.api_keys.list_for_user(user.id)


@dataclass
class RevokeApiKey:
    """Revoke one of the user's own keys; another user's key is ``NotFound``, as is a missing one.
    Revoking twice keeps the first revocation time. This server stops accepting the key at once;
    others within the time they trust a recent caller (``RecentReads``)."""

    uow: UnitOfWorkFactory
    clock: Clock
    recent: RecentReads

    async def __call__(self, user: User, key_id: uuid.UUID) -> ApiKey:
        async with self.uow() as uow:
            key = await uow.api_keys.get(key_id)
            if key is None or key.user_id != user.id:
                raise NotFound("No such API key.")
            if key.revoked_at is None:
                key.revoked_at = self.clock.now()
                await uow.api_keys.save(key)
                await uow.commit()
        self.recent.forget_caller(key.secret_hash)
        return key
