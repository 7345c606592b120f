"""Signing up, logging in and out, and finding out who a request comes from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from domain import credits
from domain.api_keys import hash_secret
from domain.errors import InvalidCredentials, TooManyAttempts, Unauthorized
from domain.ports import Clock, LoginAttemptStore, PasswordHasher, UnitOfWork, UnitOfWorkFactory
from domain.recent_reads import RecentReads
from domain.sessions import hash_token, open_session
from domain.throttle import throttle_key
from domain.use_cases.address_limits import AddressLimit
from domain.users import User, canonical_email, check_password, normalise_email


@dataclass
class SignUp:
    """A new account: a normalised, unused email, a password of 8 to 1024 characters, stored
    as an argon2id hash, and a one-time grant of ``signup_credits`` booked in the ledger in
    the same transaction as the account itself.

    A client address signs up at most ``per_address`` times per window (``CUTOUT_SIGNUPS_PER_HOUR``),
    counted once the fields are valid and before any work; more is ``RateLimited``. Without a
    ``client_ip`` (the operator's CLI) nothing is counted."""

    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock
    signup_credits: int
    per_address: AddressLimit | None = None

    async def __call__(self, email: str, password: str, client_ip: str | None = None) -> User:
        email = normalise_email(email)
        check_password(password)
        now = self.clock.now()
        if self.per_address is not None and client_ip is not None:
            await self.per_address.count(client_ip, now)
        user = User(uuid.uuid4(), email, await self.hasher.hash(password), now)
        async with self.uow() as uow:
            await uow.users.add(user)  # raises EmailTaken: the unique email is the database's to enforce
            await uow.ledger.open_account(user.id)
            if self.signup_credits > 0:
                await uow.ledger.post(credits.signup_grant(user.id, self.signup_credits, now))
            await uow.commit()
        return user


@dataclass
class LogIn:
    """Exchange email and password for a new session token.

    An unknown email and a wrong password give the same error after the same hashing work, so
    neither the answer nor its timing tells whether an account exists. The email is looked up and
    throttled in its canonical spelling (``canonical_email``), so no variant of it is another
    account's way in or a way around its lock. Business rules, in order:
    - one client address tries at most ``per_address`` logins per window (``CUTOUT_LOGINS_PER_MINUTE``),
      whichever accounts they are for (password spraying); more is ``RateLimited``;
    - each address's attempts are counted and locked out by ``domain.throttle`` (``TooManyAttempts``)
      in the shared ``attempts`` store, so every server process sees one count;
    - a success forgets the address's attempts, and upgrades a hash made with older parameters."""

    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock
    attempts: LoginAttemptStore
    dummy_hash: str
    per_address: AddressLimit

    async def __call__(self, email: str, password: str, client_ip: str) -> tuple[User, str]:
        email = canonical_email(email)
        now = self.clock.now()
        await self.per_address.count(client_ip, now)
        key = throttle_key(email)
        if wait := await self.attempts.attempt(key, now):
            raise TooManyAttempts(wait)
        async with self.uow() as uow:
            user = await uow.users.get_by_email(email)
        stored = user.password_hash if user else self.dummy_hash
        matches = await self.hasher.verify(stored, password)
        if user is None or not matches or not user.is_active:
            raise InvalidCredentials()
        await self.attempts.clear(key)
        session, token = open_session(user.id, now)
        async with self.uow() as uow:
            if self.hasher.needs_rehash(user.password_hash):
                await uow.users.update_password_hash(user.id, await self.hasher.hash(password))
            await uow.sessions.add(session)
            await uow.commit()
        return user, token


@dataclass
class StartSession:
    """Open a session for a user who just proved who they are (right after sign-up)."""

    uow: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, user: User) -> str:
        session, token = open_session(user.id, self.clock.now())
        async with self.uow() as uow:
            await uow.sessions.add(session)
            await uow.commit()
        return token


@dataclass
class LogOut:
    """End the session behind ``token``; a token that is already gone is not an error."""

    uow: UnitOfWorkFactory
    recent: RecentReads

    async def __call__(self, token: str) -> None:
        token_hash = hash_token(token)
        async with self.uow() as uow:
            await uow.sessions.delete(token_hash)
            await uow.commit()
        self.recent.forget_caller(_as_caller(token_hash))


@dataclass
class Authenticate:
    """Who is calling: an API key (not revoked) or a session token (not expired), belonging
    to an active user. Anything else is ``Unauthorized``. A key's ``last_used_at`` is
    refreshed at most once a minute, to keep writes off the hot path. A credential that
    checked out is trusted for ``CUTOUT_AUTH_CACHE_SECONDS`` without asking the database again: a
    revocation or logout on another server takes that long to apply there."""

    uow: UnitOfWorkFactory
    clock: Clock
    recent: RecentReads

    async def by_api_key(self, secret: str) -> User:
        digest = hash_secret(secret)
        if user := self.recent.caller(digest):
            return user
        version, now = self.recent.version, self.clock.now()
        async with self.uow() as uow:
            key = await uow.api_keys.find_by_hash(digest)
            if key is None or not key.is_active:
                raise Unauthorized("The API key is not valid.")
            user = await self._active_user(uow, key.user_id)
            if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
                key.last_used_at = now
                await uow.api_keys.save(key)
                await uow.commit()
        self.recent.remember_caller(digest, user, version)
        return user

    async def by_session(self, token: str) -> User:
        token_hash = hash_token(token)
        digest = _as_caller(token_hash)
        if user := self.recent.caller(digest):
            return user
        version = self.recent.version
        async with self.uow() as uow:
            session = await uow.sessions.get(token_hash)
            if session is None or not session.is_valid_at(self.clock.now()):
                raise Unauthorized("The session has ended; sign in again.")
            user = await self._active_user(uow, session.user_id)
        self.recent.remember_caller(digest, user, version)
        return user

    @staticmethod
    async def _active_user(uow: UnitOfWork, user_id: uuid.UUID) -> User:
        user = await uow.users.get(user_id)
        if user is None or not user.is_active:
            raise Unauthorized()
        return user


def _as_caller(session_token_hash: str) -> str:
    """Sessions and API keys share the recent callers; the prefix keeps their digests apart."""
    return "session:" + session_token_hash
