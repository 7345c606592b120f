from __future__ import annotations

import pytest
from fakes import FakeClock, FakeHasher, FakeLoginAttempts, FakeRateLimiter, FakeUnitOfWorkFactory

from domain.credits import LedgerKind
from domain.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    InvalidRequest,
    NotFound,
    RateLimited,
    TooManyApiKeys,
    TooManyAttempts,
    Unauthorized,
    WeakPassword,
)
from domain.paging import MAX_OFFSET
from domain.rate_limits import RateLimit
from domain.recent_reads import RecentReads
from domain.throttle import FREE_ATTEMPTS
from domain.use_cases.accounts import Authenticate, LogIn, LogOut, SignUp
from domain.use_cases.address_limits import AddressLimit
from domain.use_cases.api_keys import CreateApiKey, ListApiKeys, RevokeApiKey
from domain.use_cases.credits import GetStatement, GrantCredits


@pytest.fixture
def recent() -> RecentReads:
    return RecentReads(2.0)


@pytest.fixture
def sign_up(uow: FakeUnitOfWorkFactory, hasher: FakeHasher, clock: FakeClock) -> SignUp:
    return SignUp(uow, hasher, clock, signup_credits=3)


@pytest.fixture
def log_in(uow: FakeUnitOfWorkFactory, hasher: FakeHasher, clock: FakeClock) -> LogIn:
    return LogIn(uow, hasher, clock, FakeLoginAttempts(), "v1$dummy-not-a-password", logins_per_address(clock))


def logins_per_address(clock: FakeClock, limit: int = 1000) -> AddressLimit:
    return AddressLimit(FakeRateLimiter(clock), "login", RateLimit(limit, 60), "Too many logins.")


async def test_sign_up_normalises_the_email_and_grants_credits_once(
    sign_up: SignUp, uow: FakeUnitOfWorkFactory
) -> None:
    user = await sign_up("  Ada@Example.COM ", "correct horse")
    assert user.email == "ada@example.com"
    assert uow.db.balances[user.id] == 3
    assert [(e.kind, e.delta) for e in uow.db.ledger] == [(LedgerKind.SIGNUP_GRANT, 3)]
    assert uow.db.users[user.id].password_hash != "correct horse"


async def test_sign_up_refuses_a_taken_email_in_any_case(sign_up: SignUp, uow: FakeUnitOfWorkFactory) -> None:
    await sign_up("ada@example.com", "correct horse")
    with pytest.raises(EmailTaken):
        await sign_up("ADA@example.com", "another one")
    assert len(uow.db.users) == 1 and len(uow.db.ledger) == 1


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        ("not-an-email", "long enough", InvalidEmail),
        ("a@b", "long enough", InvalidEmail),
        ("a@example.com", "short", WeakPassword),
        ("a@example.com", "x" * 1025, WeakPassword),
    ],
)
async def test_sign_up_validates(sign_up: SignUp, email: str, password: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        await sign_up(email, password)


async def test_zero_signup_credits_books_nothing(
    uow: FakeUnitOfWorkFactory, hasher: FakeHasher, clock: FakeClock
) -> None:
    user = await SignUp(uow, hasher, clock, signup_credits=0)("z@example.com", "long enough")
    assert uow.db.balances[user.id] == 0 and uow.db.ledger == []


async def test_login_gives_a_new_session_each_time(sign_up: SignUp, log_in: LogIn, uow: FakeUnitOfWorkFactory) -> None:
    await sign_up("ada@example.com", "correct horse")
    _, first = await log_in("ADA@example.com", "correct horse", "192.0.2.1")
    _, second = await log_in("ada@example.com", "correct horse", "192.0.2.1")
    assert first != second and len(uow.db.sessions) == 2


async def test_unknown_email_and_wrong_password_look_the_same(
    sign_up: SignUp, log_in: LogIn, hasher: FakeHasher
) -> None:
    await sign_up("ada@example.com", "correct horse")
    errors = []
    for email, password in [("ada@example.com", "wrong password"), ("nobody@example.com", "wrong password")]:
        before = hasher.verifications
        with pytest.raises(InvalidCredentials) as caught:
            await log_in(email, password, "192.0.2.1")
        errors.append((caught.value.code, caught.value.message, hasher.verifications - before))
    assert errors[0] == errors[1] == ("invalid_credentials", "Wrong email or password.", 1)


async def test_login_is_throttled_after_repeated_failures(sign_up: SignUp, log_in: LogIn, clock: FakeClock) -> None:
    await sign_up("ada@example.com", "correct horse")
    for _ in range(FREE_ATTEMPTS + 1):
        with pytest.raises(InvalidCredentials):
            await log_in("ada@example.com", "wrong password", "192.0.2.1")
    with pytest.raises(TooManyAttempts) as caught:
        await log_in("ada@example.com", "correct horse", "192.0.2.1")
    assert caught.value.retry_after_seconds >= 1
    clock.advance(seconds=2)
    _, token = await log_in("ada@example.com", "correct horse", "192.0.2.1")
    assert token


async def test_login_upgrades_an_old_hash(sign_up: SignUp, uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    user = await sign_up("ada@example.com", "correct horse")
    newer = FakeHasher(version="v2")
    log_in = LogIn(uow, newer, clock, FakeLoginAttempts(), "v2$x", logins_per_address(clock))
    await log_in("ada@example.com", "correct horse", "192.0.2.1")
    assert uow.db.users[user.id].password_hash.startswith("v2$")


async def test_sessions_authenticate_until_logout_or_expiry(
    sign_up: SignUp, log_in: LogIn, uow: FakeUnitOfWorkFactory, clock: FakeClock, recent: RecentReads
) -> None:
    user = await sign_up("ada@example.com", "correct horse")
    auth = Authenticate(uow, clock, recent)
    _, token = await log_in("ada@example.com", "correct horse", "192.0.2.1")
    assert (await auth.by_session(token)).id == user.id
    await LogOut(uow, recent)(token)
    with pytest.raises(Unauthorized):
        await auth.by_session(token)
    _, token = await log_in("ada@example.com", "correct horse", "192.0.2.1")
    clock.advance(days=15)
    with pytest.raises(Unauthorized):
        await auth.by_session(token)


async def test_api_keys_authenticate_until_revoked_and_stay_private(
    sign_up: SignUp, uow: FakeUnitOfWorkFactory, clock: FakeClock, recent: RecentReads
) -> None:
    ada = await sign_up("ada@example.com", "correct horse")
    bob = await sign_up("bob@example.com", "correct horse")
    key, secret = await CreateApiKey(uow, clock, max_active=20)(ada, "laptop")
    assert secret.startswith("co_") and len(secret) > 40 and key.prefix == secret[:10]
    assert secret not in repr(uow.db.api_keys)
    auth = Authenticate(uow, clock, recent)
    assert (await auth.by_api_key(secret)).id == ada.id
    assert uow.db.api_keys[key.id].last_used_at == clock.now()
    assert [k.name for k in await ListApiKeys(uow)(ada)] == ["laptop"]
    assert await ListApiKeys(uow)(bob) == []
    with pytest.raises(NotFound):
        await RevokeApiKey(uow, clock, recent)(bob, key.id)
    await RevokeApiKey(uow, clock, recent)(ada, key.id)
    with pytest.raises(Unauthorized):
        await auth.by_api_key(secret)
    with pytest.raises(Unauthorized):
        await auth.by_api_key("co_made-up")


async def test_grant_and_statement(sign_up: SignUp, uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    user = await sign_up("ada@example.com", "correct horse")
    assert await GrantCredits(uow, clock)("ADA@example.com", 5) == 8
    statement = await GetStatement(uow)(user, limit=1)
    assert statement.balance == 8 and statement.total == 2
    assert [(e.kind, e.delta) for e in statement.entries] == [(LedgerKind.ADMIN_GRANT, 5)]
    with pytest.raises(NotFound):
        await GrantCredits(uow, clock)("nobody@example.com", 5)
    with pytest.raises(InvalidRequest):
        await GetStatement(uow)(user, offset=MAX_OFFSET + 1)


async def test_sign_ups_are_limited_per_address_once_the_fields_are_valid(
    uow: FakeUnitOfWorkFactory, hasher: FakeHasher, clock: FakeClock
) -> None:
    limit = AddressLimit(FakeRateLimiter(clock), "signup", RateLimit(2, 3600), "Enough accounts.")
    sign_up = SignUp(uow, hasher, clock, 3, limit)
    with pytest.raises(InvalidEmail):
        await sign_up("not-an-email", "correct horse", "192.0.2.1")  # a typo costs nothing
    await sign_up("a@example.com", "correct horse", "192.0.2.1")
    await sign_up("b@example.com", "correct horse", "192.0.2.1")
    with pytest.raises(RateLimited) as raised:
        await sign_up("c@example.com", "correct horse", "192.0.2.1")
    assert raised.value.retry_after_seconds == 3600
    await sign_up("c@example.com", "correct horse", "192.0.2.2")  # another address
    await sign_up("d@example.com", "correct horse")  # the operator's CLI: no address, no limit
    assert len(uow.db.users) == 4


async def test_one_spelling_of_an_address_for_sign_up_and_login(sign_up: SignUp, log_in: LogIn) -> None:
    user = await sign_up("Ｓtraße@Example.com", "correct horse")
    assert user.email == "strasse@example.com"
    with pytest.raises(EmailTaken):
        await sign_up("STRASSE@example.com", "correct horse")
    logged_in, _ = await log_in(" strasse@EXAMPLE.com", "correct horse", "192.0.2.1")
    assert logged_in.id == user.id
    with pytest.raises(InvalidCredentials):
        await log_in("ｓｔｒäｓｓｅ@example.com", "correct horse", "192.0.2.1")


async def test_an_account_holds_at_most_max_active_keys(
    sign_up: SignUp, uow: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    ada = await sign_up("ada@example.com", "correct horse")
    create = CreateApiKey(uow, clock, max_active=2)
    first, _ = await create(ada, "one")
    await create(ada, "two")
    with pytest.raises(TooManyApiKeys):
        await create(ada, "three")
    await RevokeApiKey(uow, clock, RecentReads(2.0))(ada, first.id)
    await create(ada, "three")
