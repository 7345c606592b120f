"""The contact form: messages from visitors, kept for the operator to read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from domain.contact import ContactMessage, compose_message
from domain.ports import Clock, RateLimiter, UnitOfWorkFactory
from domain.rate_limits import RateLimit
from domain.use_cases.address_limits import AddressLimit

CONTACT_LIMIT = RateLimit(limit=5, window_seconds=3600)


@dataclass
class SendContactMessage:
    """Store a visitor's message (name, email, at least a few words).

    Business rules:
    - The fields are checked first, so a visitor who mistypes loses nothing.
    - One address (the client's IP) sends at most ``CONTACT_LIMIT`` messages per window,
      counted before anything is stored; more is ``RateLimited``.
    - A filled ``honeypot`` (a field people never see) is a bot: it gets the same answer as a
      person, so it learns nothing to adapt to, and nothing is stored.
    Returns whether the message was stored.
    """

    uow: UnitOfWorkFactory
    rate_limiter: RateLimiter
    clock: Clock
    _limit: AddressLimit = field(init=False)

    def __post_init__(self) -> None:
        message = "You have sent several messages already; try again later."
        self._limit = AddressLimit(self.rate_limiter, "contact", CONTACT_LIMIT, message)

    async def __call__(self, name: str, email: str, message: str, honeypot: str, client_ip: str) -> bool:
        now = self.clock.now()
        contact = compose_message(name, email, message, now)
        await self._limit.count(client_ip, now)
        if honeypot.strip():
            return False
        async with self.uow() as uow:
            await uow.contacts.add(contact)
            await uow.commit()
        return True


@dataclass
class ListContactMessages:
    """The newest contact messages first, for the operator."""

    uow: UnitOfWorkFactory

    async def __call__(self, limit: int) -> Sequence[ContactMessage]:
        async with self.uow() as uow:
            return await uow.contacts.recent(limit)
