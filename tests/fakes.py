"""In-memory fakes of every port, for testing the layers above the adapters."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from adapters.blob_names import attachment, check_key
from domain import ports
from domain.api_keys import ApiKey
from domain.contact import ContactMessage
from domain.credits import LedgerEntry
from domain.cutouts import CutoutOptions, ImageInfo, OutputFormat, RenderedImage
from domain.errors import (
    AlreadyPosted,
    BlobMissing,
    EmailTaken,
    IdempotencyKeyTaken,
    InsufficientCredits,
    InvalidImage,
    InvalidOption,
    UrlNotAllowed,
)
from domain.jobs import Job, JobStatus
from domain.ports import BalanceListener, Mask, Picture
from domain.rate_limits import RateLimit, RateLimitState
from domain.sessions import Session
from domain.throttle import LoginAttempts, first_attempt
from domain.users import User
from domain.webhooks import DeliveryStatus, WebhookDelivery


@dataclass
class FakeDatabase:
    users: dict[uuid.UUID, User] = field(default_factory=dict)
    api_keys: dict[uuid.UUID, ApiKey] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    balances: dict[uuid.UUID, int] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    jobs: dict[uuid.UUID, Job] = field(default_factory=dict)
    webhooks: dict[uuid.UUID, WebhookDelivery] = field(default_factory=dict)
    contacts: list[ContactMessage] = field(default_factory=list)


_TABLES = ("users", "api_keys", "sessions", "jobs", "webhooks")
"""The tables keyed by id; ``balances`` moves by deltas and ``ledger``/``contacts`` only grow."""


def _merge(into: FakeDatabase, before: FakeDatabase, after: FakeDatabase) -> None:
    """Apply what one transaction changed (``before`` to ``after``) to ``into``, leaving what other
    transactions committed meanwhile in place, as a database does with rows a transaction did not touch."""
    for name in _TABLES:
        old, new, target = getattr(before, name), getattr(after, name), getattr(into, name)
        for key in old.keys() - new.keys():
            target.pop(key, None)
        for key, row in new.items():
            if key not in old or old[key] != row:
                target[key] = row
    for user_id, balance in after.balances.items():
        into.balances[user_id] = into.balances.get(user_id, 0) + balance - before.balances.get(user_id, 0)
    into.ledger.extend(after.ledger[len(before.ledger) :])
    into.contacts.extend(after.contacts[len(before.contacts) :])


class _Locks:
    """The rows an open unit of work holds (``FOR UPDATE``); others' skip-locked queries pass them by."""

    def __init__(self, held: dict[uuid.UUID, object], owner: object) -> None:
        self._held, self._owner = held, owner

    def free(self, row_id: uuid.UUID) -> bool:
        return self._held.get(row_id, self._owner) is self._owner

    def take(self, row_id: uuid.UUID) -> None:
        self._held[row_id] = self._owner


# SQL orders by the time, then by the random id: ties come in no useful order. The fake takes the
# order of insertion for ties (the last inserted is the newest), which is one of the orders SQL may give.
def _oldest_first(rows: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    return sorted(rows, key=key)


def _newest_first(rows: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    return sorted(reversed(rows), key=key, reverse=True)


class _Snapshot:
    """One transaction's copy of the database, taken at its first statement (as SQL's transactions see
    what was committed before they first read, not before they were opened)."""

    def __init__(self, factory: FakeUnitOfWorkFactory) -> None:
        self._factory = factory
        self.before: FakeDatabase | None = None
        self.after = FakeDatabase()

    @property
    def db(self) -> FakeDatabase:
        if self.before is None:
            self.before = copy.deepcopy(self._factory.db)
            self.after = copy.deepcopy(self.before)
        return self.after


class _Repository:
    def __init__(self, snapshot: _Snapshot) -> None:
        self._snapshot = snapshot

    @property
    def db(self) -> FakeDatabase:
        return self._snapshot.db


class _FakeUsers(_Repository):
    async def add(self, user: User) -> None:
        if any(u.email == user.email for u in self.db.users.values()):
            raise EmailTaken(field="email")
        self.db.users[user.id] = copy.copy(user)

    async def get(self, user_id: uuid.UUID) -> User | None:
        return copy.copy(self.db.users.get(user_id))

    async def get_by_email(self, email: str) -> User | None:
        return next((copy.copy(u) for u in self.db.users.values() if u.email == email), None)

    async def update_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        if user := self.db.users.get(user_id):
            user.password_hash = password_hash

    async def set_webhook_secret(self, user_id: uuid.UUID, secret: str) -> None:
        if user := self.db.users.get(user_id):
            user.webhook_secret = secret


class _FakeApiKeys(_Repository):
    async def add(self, key: ApiKey) -> None:
        self.db.api_keys[key.id] = copy.copy(key)

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return copy.copy(self.db.api_keys.get(key_id))

    async def find_by_hash(self, secret_hash: str) -> ApiKey | None:
        return next((copy.copy(k) for k in self.db.api_keys.values() if k.secret_hash == secret_hash), None)

    async def list_for_user(self, user_id: uuid.UUID) -> Sequence[ApiKey]:
        keys = [copy.copy(k) for k in self.db.api_keys.values() if k.user_id == user_id]
        return sorted(keys, key=lambda k: k.created_at)

    async def count_active(self, user_id: uuid.UUID) -> int:
        return sum(1 for k in self.db.api_keys.values() if k.user_id == user_id and k.revoked_at is None)

    async def save(self, key: ApiKey) -> None:
        if stored := self.db.api_keys.get(key.id):
            stored.last_used_at, stored.revoked_at = key.last_used_at, key.revoked_at


class _FakeSessions(_Repository):
    async def add(self, session: Session) -> None:
        self.db.sessions[session.token_hash] = copy.copy(session)

    async def get(self, token_hash: str) -> Session | None:
        return copy.copy(self.db.sessions.get(token_hash))

    async def delete(self, token_hash: str) -> None:
        self.db.sessions.pop(token_hash, None)

    async def delete_expired(self, now: datetime) -> int:
        ended = [token for token, session in self.db.sessions.items() if session.expires_at <= now]
        for token in ended:
            del self.db.sessions[token]
        return len(ended)


class _FakeLedger(_Repository):
    def __init__(self, snapshot: _Snapshot) -> None:
        super().__init__(snapshot)
        self.changed: set[uuid.UUID] = set()

    async def open_account(self, user_id: uuid.UUID) -> None:
        self.db.balances[user_id] = 0

    async def post(self, entry: LedgerEntry) -> None:
        balance = self.db.balances.get(entry.user_id)
        if balance is None or balance + entry.delta < 0:  # no account matches no row, as in SQL
            raise InsufficientCredits(required=-entry.delta)
        if any(e.kind == entry.kind and e.reference == entry.reference for e in self.db.ledger):
            raise AlreadyPosted(kind=entry.kind.value, reference=entry.reference)
        self.db.balances[entry.user_id] += entry.delta
        self.db.ledger.append(copy.copy(entry))
        self.changed.add(entry.user_id)

    async def balance(self, user_id: uuid.UUID) -> int:
        return self.db.balances.get(user_id, 0)

    async def entries(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[LedgerEntry], int]:
        mine = _newest_first([e for e in self.db.ledger if e.user_id == user_id], lambda e: e.created_at)
        return [copy.copy(e) for e in mine[offset : offset + limit]], len(mine)


class _FakeJobs(_Repository):
    def __init__(self, snapshot: _Snapshot, locks: _Locks) -> None:
        super().__init__(snapshot)
        self._locks = locks

    async def add(self, job: Job) -> None:
        if job.idempotency_key and await self.get_by_idempotency_key(job.user_id, job.idempotency_key):
            raise IdempotencyKeyTaken(field="Idempotency-Key")
        self.db.jobs[job.id] = copy.deepcopy(job)

    async def get(self, job_id: uuid.UUID) -> Job | None:
        return copy.deepcopy(self.db.jobs.get(job_id))

    async def lock(self, job_id: uuid.UUID) -> Job | None:
        if job_id in self.db.jobs:
            self._locks.take(job_id)
        return await self.get(job_id)

    async def save(self, job: Job) -> None:
        if job.id in self.db.jobs:
            self.db.jobs[job.id] = copy.deepcopy(job)

    async def lease_expired(self, now: datetime, limit: int) -> Sequence[Job]:
        expired = [
            j
            for j in self.db.jobs.values()
            if j.status is JobStatus.RUNNING and j.lease_expires_at is not None and j.lease_expires_at < now
        ]
        return self._locked(_oldest_first(expired, lambda j: j.lease_expires_at), limit)

    async def claim_next(self, now: datetime) -> Job | None:
        ready = [
            j
            for j in self.db.jobs.values()
            if j.status is JobStatus.QUEUED and j.available_at is not None and j.available_at <= now
        ]
        claimed = self._locked(_oldest_first(ready, lambda j: j.available_at), 1)
        return claimed[0] if claimed else None

    async def heartbeat(self, job_id: uuid.UUID, worker_id: str, lease_until: datetime, progress: int) -> bool:
        job = self.db.jobs.get(job_id)
        if job is None or not job.is_held_by(worker_id):
            return False
        job.lease_expires_at, job.progress = lease_until, progress
        return True

    async def get_by_idempotency_key(self, user_id: uuid.UUID, key: str) -> Job | None:
        found = (j for j in self.db.jobs.values() if j.user_id == user_id and j.idempotency_key == key)
        return copy.deepcopy(next(found, None))

    async def list_for_user(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[Job], int]:
        mine = _newest_first([j for j in self.db.jobs.values() if j.user_id == user_id and not j.sync], _created)
        return [copy.deepcopy(j) for j in mine[offset : offset + limit]], len(mine)

    async def retention_due(self, created_before: datetime, limit: int) -> Sequence[Job]:
        due = [
            j
            for j in self.db.jobs.values()
            if not j.sync
            and j.created_at < created_before
            and (
                j.status in (JobStatus.QUEUED, JobStatus.SUCCEEDED)
                or (j.input_key is not None and j.status is not JobStatus.RUNNING)
            )
        ]
        return self._locked(_oldest_first(due, _created), limit)

    async def delete_finished_sync(self, created_before: datetime, limit: int) -> int:
        ended = [
            j
            for j in self.db.jobs.values()
            if j.sync and j.status.is_terminal and j.created_at < created_before and self._locks.free(j.id)
        ]
        gone = _oldest_first(ended, _created)[:limit]
        for job in gone:
            del self.db.jobs[job.id]
        return len(gone)

    def _locked(self, jobs: list[Job], limit: int) -> list[Job]:
        """Copies of the first ``limit`` of ``jobs`` that no other unit of work holds, locked for this one
        (``FOR UPDATE SKIP LOCKED``: the limit counts only the rows not skipped)."""
        free = [job for job in jobs if self._locks.free(job.id)][:limit]
        for job in free:
            self._locks.take(job.id)
        return [copy.deepcopy(job) for job in free]


def _created(job: Job) -> datetime:
    return job.created_at


class _FakeWebhooks(_Repository):
    def __init__(self, snapshot: _Snapshot, locks: _Locks) -> None:
        super().__init__(snapshot)
        self._locks = locks

    async def add(self, delivery: WebhookDelivery) -> None:
        if not any(d.job_id == delivery.job_id for d in self.db.webhooks.values()):
            self.db.webhooks[delivery.id] = copy.deepcopy(delivery)

    async def claim_due(self, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
        due = [
            d
            for d in self.db.webhooks.values()
            if d.status is DeliveryStatus.PENDING and d.next_attempt_at <= now and self._locks.free(d.id)
        ]
        claimed = _oldest_first(due, lambda d: d.next_attempt_at)[:limit]
        for delivery in claimed:
            self._locks.take(delivery.id)
        return [copy.deepcopy(d) for d in claimed]

    async def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        return copy.deepcopy(self.db.webhooks.get(delivery_id))

    async def save(self, delivery: WebhookDelivery) -> None:
        if delivery.id in self.db.webhooks:
            self.db.webhooks[delivery.id] = copy.deepcopy(delivery)


class _FakeContacts(_Repository):
    async def add(self, message: ContactMessage) -> None:
        self.db.contacts.append(copy.copy(message))

    async def recent(self, limit: int) -> Sequence[ContactMessage]:
        newest = _newest_first(self.db.contacts, lambda m: m.created_at)[:limit]
        return [copy.copy(m) for m in newest]


class FakeUnitOfWork:
    """One transaction on a copy of the database (taken at its first statement): commit applies what it
    changed to the shared one (leaving what other transactions committed meanwhile), rollback or leaving
    without commit discards it. Rows it
    reads ``FOR UPDATE`` stay locked until then, and other units of work's skip-locked queries skip them."""

    users: _FakeUsers
    api_keys: _FakeApiKeys
    sessions: _FakeSessions
    ledger: _FakeLedger
    jobs: _FakeJobs
    webhooks: _FakeWebhooks
    contacts: _FakeContacts

    def __init__(self, factory: FakeUnitOfWorkFactory) -> None:
        self._factory = factory
        self._locks = _Locks(factory.locks, self)

    async def __aenter__(self) -> FakeUnitOfWork:
        self._begin()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._end()

    async def commit(self) -> None:
        if self._snapshot.before is not None:
            _merge(self._factory.db, self._snapshot.before, self._snapshot.after)
        self._factory.commits += 1
        changed = self.ledger.changed
        self._end()
        for user_id in changed:
            for listener in self._factory.listeners:
                listener(user_id)
        self._begin()

    async def rollback(self) -> None:
        self._end()
        self._begin()

    def _begin(self) -> None:
        self._snapshot = _Snapshot(self._factory)
        self.users = _FakeUsers(self._snapshot)
        self.api_keys = _FakeApiKeys(self._snapshot)
        self.sessions = _FakeSessions(self._snapshot)
        self.ledger = _FakeLedger(self._snapshot)
        self.jobs = _FakeJobs(self._snapshot, self._locks)
        self.webhooks = _FakeWebhooks(self._snapshot, self._locks)
        self.contacts = _FakeContacts(self._snapshot)

    def _end(self) -> None:
        """Release this transaction's locks (its changes are merged or dropped by the caller)."""
        for row_id in [row_id for row_id, owner in self._factory.locks.items() if owner is self]:
            del self._factory.locks[row_id]


class FakeUnitOfWorkFactory:
    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.commits = 0
        self.listeners: list[BalanceListener] = []
        self.locks: dict[uuid.UUID, object] = {}
        """Row id -> the open unit of work holding it."""

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def on_balance_change(self, listener: BalanceListener) -> None:
        self.listeners.append(listener)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class FakeHasher:
    """Reversible and instant; records how often it ran so tests can check equal work."""

    def __init__(self, version: str = "v1") -> None:
        self.version = version
        self.verifications = 0

    async def hash(self, password: str) -> str:
        return f"{self.version}${password}"

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return password_hash.split("$", 1)[1] == password

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"{self.version}$")


@dataclass(frozen=True)
class FakePicture:
    width: int
    height: int


def fake_image(width: int, height: int) -> bytes:
    """Bytes that ``FakeImaging`` reads as an image of the given size."""
    return f"fake:{width}x{height}".encode()


class FakeImaging:
    """Reads ``fake:WxH`` as an image; anything else is invalid. Renders a marker of what it did."""

    def __init__(self) -> None:
        self.rendered: list[tuple[Picture, CutoutOptions]] = []

    def probe(self, data: bytes) -> ImageInfo:
        try:
            kind, size = data.decode().split(":")
            width, height = (int(n) for n in size.split("x"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidImage() from None
        return ImageInfo(kind, width, height)

    def check_options(self, options: CutoutOptions) -> None:
        if options.bg_color is not None and options.bg_color.startswith("not"):
            raise InvalidOption(field="bg_color")

    async def decode(self, data: bytes, size: tuple[int, int]) -> FakePicture:
        return FakePicture(*size)

    async def render(self, picture: Picture, mask: Mask, options: CutoutOptions) -> RenderedImage:
        self.rendered.append((picture, options))
        data = f"cutout:{picture.width}x{picture.height}:{mask}".encode()
        fmt = OutputFormat.PNG if options.format is OutputFormat.AUTO else options.format
        return RenderedImage(data, fmt.media_type, picture.width, picture.height)


@dataclass(frozen=True)
class FakeMask:
    """What ``FakeRemover`` answers: a mask the size of the picture, which ``FakeImaging`` renders as ``mask``."""

    width: int
    height: int

    def __str__(self) -> str:
        return "mask"


class FakeRemover:
    """Answers a ``FakeMask``, or raises ``error`` when one is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None

    async def mask(self, picture: Picture) -> Mask:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return FakeMask(picture.width, picture.height)

    async def check(self) -> None:
        if self.error is not None:
            raise self.error


class FakeFetcher:
    """Serves registered URLs; anything else is ``url_not_allowed``."""

    def __init__(self, pages: dict[str, bytes] | None = None) -> None:
        self.pages = dict(pages or {})

    async def fetch(self, url: str, max_bytes: int) -> bytes:
        if url not in self.pages:
            raise UrlNotAllowed()
        return self.pages[url]


class CentreMaskRemover(FakeRemover):
    """For use with the real imaging adapter: a mask with an opaque ellipse in the middle half."""

    async def mask(self, picture: Picture) -> Mask:
        from PIL import Image, ImageDraw

        await super().mask(picture)
        mask = Image.new("L", (picture.width, picture.height), 0)
        w, h = picture.width, picture.height
        ImageDraw.Draw(mask).ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=255)
        return mask


class FakeRateLimiter:
    """Fixed windows in a dict, on the given clock."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.hits: dict[tuple[str, int], int] = {}
        self.ends: dict[tuple[str, int], int] = {}

    async def hit(self, key: str, rule: RateLimit) -> RateLimitState:
        start = rule.window_start(self.clock.now())
        count = self.hits[(key, start)] = self.hits.get((key, start), 0) + 1
        self.ends[(key, start)] = start + rule.window_seconds
        if count == 1:  # the first hit of a window clears the key's finished windows, as the SQL limiter does
            for window in [w for w, end in self.ends.items() if w[0] == key and end <= start]:
                del self.hits[window], self.ends[window]
        return RateLimitState(
            allowed=count <= rule.limit,
            limit=rule.limit,
            remaining=max(0, rule.limit - count),
            reset_at=datetime.fromtimestamp(start + rule.window_seconds, UTC),
        )

    async def purge(self, now: datetime) -> int:
        """Forget the windows finished by ``now``."""
        ended = [window for window, end in self.ends.items() if end <= int(now.timestamp())]
        for window in ended:
            del self.hits[window], self.ends[window]
        return len(ended)


class FakeLoginAttempts:
    """Login attempts in a dict, by the same rule (``domain.throttle``) as the SQL store."""

    def __init__(self) -> None:
        self.records: dict[str, LoginAttempts] = {}

    async def attempt(self, key: str, now: datetime) -> int:
        attempts = self.records.get(key) or first_attempt(now)
        if wait := attempts.retry_after(now):
            return wait
        self.records[key] = attempts.counted(now)
        return 0

    async def clear(self, key: str) -> None:
        self.records.pop(key, None)

    async def purge(self, now: datetime) -> int:
        ended = [key for key, attempts in self.records.items() if attempts.expires_at <= now]
        for key in ended:
            del self.records[key]
        return len(ended)


class FakeBlobStore:
    """Blobs in a dict with the time they were stored. URLs are ``memory://<key>?expires=...``; ``serve``
    answers them (give it to ``httpx.MockTransport``) as the stores' download routes do."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.blobs: dict[str, tuple[bytes, str, datetime]] = {}

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        self.blobs[key] = (data, content_type, self.clock.now())

    async def get(self, key: str) -> bytes:
        check_key(key)
        if key not in self.blobs:
            raise BlobMissing(key=key)
        return self.blobs[key][0]

    async def delete(self, key: str) -> None:
        check_key(key)
        self.blobs.pop(key, None)

    async def url(self, key: str, expires_in: timedelta, filename: str | None = None) -> str:
        check_key(key)
        query = {"expires": int((self.clock.now() + expires_in).timestamp())}
        return f"memory://{key}?{urlencode(query | ({'filename': filename} if filename else {}))}"

    async def sweep(self, older_than: datetime) -> int:
        old = [key for key, (_, _, stored) in self.blobs.items() if stored < older_than]
        for key in old:
            del self.blobs[key]
        return len(old)

    async def check(self) -> None:
        return None

    def serve(self, request: httpx.Request) -> httpx.Response:
        """The download behind a ``url``: 403 once expired, 404 once deleted."""
        key = f"{request.url.host}{request.url.path}"
        if int(request.url.params["expires"]) < self.clock.now().timestamp():
            return httpx.Response(403)
        if key not in self.blobs:
            return httpx.Response(404)
        data, content_type, _ = self.blobs[key]
        headers = {"content-type": content_type}
        if filename := request.url.params.get("filename"):
            headers["content-disposition"] = attachment(filename)
        return httpx.Response(200, content=data, headers=headers)


class FakeWebhookSender:
    """Records what would have been sent; ``failures`` makes the next sends raise it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, bytes]] = []
        self.failures: list[Exception] = []

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((url, secret, message_id, payload))


if TYPE_CHECKING:  # mypy holds each fake to its port: a missing or mistyped method fails the type check
    _uow: ports.UnitOfWorkFactory = FakeUnitOfWorkFactory()
    _clock: ports.Clock = FakeClock()
    _hasher: ports.PasswordHasher = FakeHasher()
    _imaging: ports.Imaging = FakeImaging()
    _remover: ports.BackgroundRemover = FakeRemover()
    _fetcher: ports.UrlFetcher = FakeFetcher()
    _rate_limiter: ports.RateLimiter = FakeRateLimiter()
    _login_attempts: ports.LoginAttemptStore = FakeLoginAttempts()
    _blob_store: ports.BlobStore = FakeBlobStore()
    _webhook_sender: ports.WebhookSender = FakeWebhookSender()
