"""What a server remembers of callers and balances: for how long, and what makes it forget."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fakes import FakeClock, FakeHasher, FakeUnitOfWorkFactory

from domain.errors import Unauthorized
from domain.recent_reads import RecentReads
from domain.use_cases.accounts import Authenticate, SignUp
from domain.use_cases.api_keys import CreateApiKey, RevokeApiKey
from domain.use_cases.credits import GetBalance, GrantCredits
from domain.users import User

TRUSTED_SECONDS = 2.0


class Timer:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def timer() -> Timer:
    return Timer()


@pytest.fixture
def recent(uow: FakeUnitOfWorkFactory, timer: Timer) -> RecentReads:
    reads = RecentReads(TRUSTED_SECONDS, timer)
    uow.on_balance_change(reads.forget_balance)
    return reads


@pytest.fixture
async def ada(uow: FakeUnitOfWorkFactory, clock: FakeClock) -> User:
    return await SignUp(uow, FakeHasher(), clock, signup_credits=3)("ada@example.com", "correct horse")


async def test_another_servers_revocation_applies_here_once_the_trusted_seconds_pass(
    uow: FakeUnitOfWorkFactory, clock: FakeClock, recent: RecentReads, timer: Timer, ada: User
) -> None:
    key, secret = await CreateApiKey(uow, clock, max_active=20)(ada, "laptop")
    auth = Authenticate(uow, clock, recent)
    assert (await auth.by_api_key(secret)).id == ada.id
    uow.db.api_keys[key.id].revoked_at = clock.now()  # what another server's revocation does to the database
    timer.now += TRUSTED_SECONDS - 0.1
    assert (await auth.by_api_key(secret)).id == ada.id
    timer.now += 0.2
    with pytest.raises(Unauthorized):
        await auth.by_api_key(secret)


async def test_a_revocation_here_applies_at_once(
    uow: FakeUnitOfWorkFactory, clock: FakeClock, recent: RecentReads, ada: User
) -> None:
    key, secret = await CreateApiKey(uow, clock, max_active=20)(ada, "laptop")
    auth = Authenticate(uow, clock, recent)
    await auth.by_api_key(secret)
    await RevokeApiKey(uow, clock, recent)(ada, key.id)
    with pytest.raises(Unauthorized):
        await auth.by_api_key(secret)


async def test_a_balance_is_shown_again_until_this_process_books_an_entry_or_time_passes(
    uow: FakeUnitOfWorkFactory, clock: FakeClock, recent: RecentReads, timer: Timer, ada: User
) -> None:
    balance = GetBalance(uow, recent)
    assert await balance(ada) == 3
    uow.db.balances[ada.id] = 10  # another process's entry
    assert await balance(ada) == 3
    assert await GrantCredits(uow, clock)(ada.email, 5) == 15  # an entry this process commits
    assert await balance(ada) == 15
    uow.db.balances[ada.id] = 20
    timer.now += TRUSTED_SECONDS + 0.1
    assert await balance(ada) == 20


def test_a_read_that_a_change_overtook_is_not_remembered() -> None:
    recent, user_id = RecentReads(TRUSTED_SECONDS), uuid.uuid4()
    version = recent.version
    recent.forget_balance(user_id)  # an entry committed while the balance was being read
    recent.remember_balance(user_id, 7, version)
    assert recent.balance(user_id) is None
    recent.remember_balance(user_id, 8, recent.version)
    assert recent.balance(user_id) == 8


def test_zero_seconds_remembers_nothing() -> None:
    recent = RecentReads(0)
    user = User(uuid.uuid4(), "ada@example.com", "hash", datetime.now(UTC))
    recent.remember_caller("digest", user, recent.version)
    recent.remember_balance(user.id, 3, recent.version)
    assert recent.caller("digest") is None and recent.balance(user.id) is None
