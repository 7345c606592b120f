"""The contact form's use case, against fakes."""

from __future__ import annotations

import pytest
from fakes import FakeClock, FakeRateLimiter, FakeUnitOfWorkFactory

from domain.errors import DomainError, InvalidEmail, InvalidField, RateLimited
from domain.use_cases.contact import CONTACT_LIMIT, ListContactMessages, SendContactMessage


def send(uow: FakeUnitOfWorkFactory, clock: FakeClock) -> SendContactMessage:
    return SendContactMessage(uow, FakeRateLimiter(clock), clock)


async def test_stores_a_trimmed_message_with_a_normalised_email(uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    stored = await send(uow, clock)("  Ada ", " Ada@Example.COM ", "  Hello, is there an API?  ", "", "192.0.2.1")
    assert stored
    [message] = await ListContactMessages(uow)(10)
    assert (message.name, message.email, message.message) == ("Ada", "ada@example.com", "Hello, is there an API?")
    assert message.created_at == clock.now()


async def test_a_filled_honeypot_stores_nothing(uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    stored = await send(uow, clock)("Bot", "bot@example.com", "Buy cheap things now", "https://x.example", "192.0.2.1")
    assert not stored
    assert await ListContactMessages(uow)(10) == []


@pytest.mark.parametrize(
    ("name", "email", "message", "error", "field"),
    [
        ("", "a@example.com", "long enough text", InvalidField, "name"),
        ("x" * 101, "a@example.com", "long enough text", InvalidField, "name"),
        ("Ada", "nope", "long enough text", InvalidEmail, "email"),
        ("Ada", "a@example.com", "   short   ", InvalidField, "message"),
        ("Ada", "a@example.com", "y" * 5001, InvalidField, "message"),
    ],
)
async def test_each_bad_field_is_named(
    uow: FakeUnitOfWorkFactory,
    clock: FakeClock,
    name: str,
    email: str,
    message: str,
    error: type[DomainError],
    field: str,
) -> None:
    limiter = FakeRateLimiter(clock)
    with pytest.raises(error) as raised:
        await SendContactMessage(uow, limiter, clock)(name, email, message, "", "192.0.2.1")
    assert raised.value.details["field"] == field
    assert limiter.hits == {}  # a visitor who mistypes does not use up the limit


async def test_at_most_the_limit_per_address_per_window(uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    use_case = send(uow, clock)
    for _ in range(CONTACT_LIMIT.limit):
        await use_case("Ada", "ada@example.com", "a message of some length", "", "192.0.2.1")
    with pytest.raises(RateLimited) as raised:
        await use_case("Ada", "ada@example.com", "a message of some length", "", "192.0.2.1")
    assert 0 < raised.value.retry_after_seconds <= CONTACT_LIMIT.window_seconds
    await use_case("Bob", "bob@example.com", "another address is counted apart", "", "192.0.2.2")
    clock.advance(seconds=CONTACT_LIMIT.window_seconds)
    await use_case("Ada", "ada@example.com", "the next window is open again", "", "192.0.2.1")
    assert len(await ListContactMessages(uow)(100)) == CONTACT_LIMIT.limit + 2


async def test_recent_is_newest_first_and_limited(uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    use_case = send(uow, clock)
    for n in range(3):
        await use_case(f"Person {n}", "p@example.com", f"message number {n}", "", f"192.0.2.{n}")
        clock.advance(seconds=1)
    assert [m.name for m in await ListContactMessages(uow)(2)] == ["Person 2", "Person 1"]
