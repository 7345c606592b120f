"""In-memory fakes of every port, for testing the layers above the adapters."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

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
from domain.ports import BalanceListener
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


class _FakeUsers:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def add(self, user: User) -> None:
        if any(u.email == user.email for u in self.db.users.values()):
            raise EmailTaken()
        self.db.users[user.id] = copy.copy(user)

    async def get(self, user_id: uuid.UUID) -> User | None:
        return copy.copy(self.db.users.get(user_id))

    async def get_by_email(self, email: str) -> User | None:
        return next((copy.copy(u) for u in self.db.users.values() if u.email == email), None)

    async def update_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        self.db.users[user_id].password_hash = password_hash

    async def set_webhook_secret(self, user_id: uuid.UUID, secret: str) -> None:
        self.db.users[user_id].webhook_secret = secret


class _FakeApiKeys:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

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
        self.db.api_keys[key.id] = copy.copy(key)


class _FakeSessions:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def add(self, session: Session) -> None:
        self.db.sessions[session.token_hash] = session

    async def get(self, token_hash: str) -> Session | None:
        return self.db.sessions.get(token_hash)

    async def delete(self, token_hash: str) -> None:
        self.db.sessions.pop(token_hash, None)

    async def delete_expired(self, now: datetime) -> int:
        ended = [token for token, session in self.db.sessions.items() if session.expires_at <= now]
        for token in ended:
            del self.db.sessions[token]
        return len(ended)


class _FakeLedger:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.changed: set[uuid.UUID] = set()

    async def open_account(self, user_id: uuid.UUID) -> None:
        self.db.balances[user_id] = 0

    async def post(self, entry: LedgerEntry) -> None:
        if self.db.balances[entry.user_id] + entry.delta < 0:
            raise InsufficientCredits()
        if any(e.kind == entry.kind and e.reference == entry.reference for e in self.db.ledger):
            raise AlreadyPosted()
        self.db.balances[entry.user_id] += entry.delta
        self.db.ledger.append(entry)
        self.changed.add(entry.user_id)

    async def balance(self, user_id: uuid.UUID) -> int:
        return self.db.balances.get(user_id, 0)

    async def entries(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[LedgerEntry], int]:
        mine = [e for e in reversed(self.db.ledger) if e.user_id == user_id]
        return mine[offset : offset + limit], len(mine)


class _FakeJobs:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def add(self, job: Job) -> None:
        if job.idempotency_key and await self.get_by_idempotency_key(job.user_id, job.idempotency_key):
            raise IdempotencyKeyTaken()
        self.db.jobs[job.id] = copy.deepcopy(job)

    async def get(self, job_id: uuid.UUID) -> Job | None:
        return copy.deepcopy(self.db.jobs.get(job_id))

    lock = get

    async def save(self, job: Job) -> None:
        self.db.jobs[job.id] = copy.deepcopy(job)

    async def lease_expired(self, now: datetime, limit: int) -> Sequence[Job]:
        expired = [
            copy.deepcopy(j)
            for j in self.db.jobs.values()
            if j.status is JobStatus.RUNNING and j.lease_expires_at is not None and j.lease_expires_at < now
        ]
        return expired[:limit]

    async def claim_next(self, now: datetime) -> Job | None:
        ready = [
            j
            for j in self.db.jobs.values()
            if j.status is JobStatus.QUEUED and j.available_at is not None and j.available_at <= now
        ]
        return copy.deepcopy(min(ready, key=lambda j: j.available_at or now)) if ready else None

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
        mine = [j for j in self.db.jobs.values() if j.user_id == user_id and not j.sync]
        mine.sort(key=lambda j: j.created_at, reverse=True)
        return [copy.deepcopy(j) for j in mine[offset : offset + limit]], len(mine)

    async def retention_due(self, created_before: datetime, limit: int) -> Sequence[Job]:
        due = [
            copy.deepcopy(j)
            for j in self.db.jobs.values()
            if not j.sync
            and j.created_at < created_before
            and (
                j.status in (JobStatus.QUEUED, JobStatus.SUCCEEDED)
                or (j.input_key is not None and j.status is not JobStatus.RUNNING)
            )
        ]
        return due[:limit]

    async def delete_finished_sync(self, created_before: datetime, limit: int) -> int:
        ended = [j for j in self.db.jobs.values() if j.sync and j.status.is_terminal and j.created_at < created_before]
        for job in sorted(ended, key=lambda j: j.created_at)[:limit]:
            del self.db.jobs[job.id]
        return min(len(ended), limit)


class _FakeWebhooks:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def add(self, delivery: WebhookDelivery) -> None:
        if not any(d.job_id == delivery.job_id for d in self.db.webhooks.values()):
            self.db.webhooks[delivery.id] = copy.deepcopy(delivery)

    async def claim_due(self, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
        due = [
            copy.deepcopy(d)
            for d in self.db.webhooks.values()
            if d.status is DeliveryStatus.PENDING and d.next_attempt_at <= now
        ]
        return due[:limit]

    async def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        return copy.deepcopy(self.db.webhooks.get(delivery_id))

    async def save(self, delivery: WebhookDelivery) -> None:
        self.db.webhooks[delivery.id] = copy.deepcopy(delivery)


class _FakeContacts:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def add(self, message: ContactMessage) -> None:
        self.db.contacts.append(copy.copy(message))

    async def recent(self, limit: int) -> Sequence[ContactMessage]:
        return sorted(self.db.contacts, key=lambda m: m.created_at, reverse=True)[:limit]


class FakeUnitOfWork:
    """Works on a copy of the database and swaps it in on commit, so rollback discards."""

    def __init__(self, db_holder: FakeUnitOfWorkFactory) -> None:
        self._holder = db_holder

    async def __aenter__(self) -> FakeUnitOfWork:
        self._db = copy.deepcopy(self._holder.db)
        self.users = _FakeUsers(self._db)
        self.api_keys = _FakeApiKeys(self._db)
        self.sessions = _FakeSessions(self._db)
        self.ledger = _FakeLedger(self._db)
        self.jobs = _FakeJobs(self._db)
        self.webhooks = _FakeWebhooks(self._db)
        self.contacts = _FakeContacts(self._db)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._db = FakeDatabase()

    async def commit(self) -> None:
        self._holder.db = self._db
        self._holder.commits += 1
        for user_id in self.ledger.changed:
            for listener in self._holder.listeners:
                listener(user_id)
        self.ledger.changed = set()

    async def rollback(self) -> None:
        self._db = copy.deepcopy(self._holder.db)
        self.ledger.changed = set()


class FakeUnitOfWorkFactory:
    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.commits = 0
        self.listeners: list[BalanceListener] = []

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
        self.rendered: list[tuple[FakePicture, CutoutOptions]] = []

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

    async def render(self, picture: Any, mask: Any, options: CutoutOptions) -> RenderedImage:
        self.rendered.append((picture, options))
        data = f"cutout:{picture.width}x{picture.height}:{mask}".encode()
        fmt = OutputFormat.PNG if options.format is OutputFormat.AUTO else options.format
        return RenderedImage(data, fmt.media_type, picture.width, picture.height)


class FakeRemover:
    """Answers a mask marker, or raises ``error`` when one is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None

    async def mask(self, picture: Any) -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return "mask"

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

    async def mask(self, picture: Any) -> Any:
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
    """Blobs in a dict with the time they were stored; URLs are ``memory://`` and never fetched."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.blobs: dict[str, tuple[bytes, str, datetime]] = {}

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.blobs[key] = (data, content_type, self.clock.now())

    async def get(self, key: str) -> bytes:
        if key not in self.blobs:
            raise BlobMissing(key=key)
        return self.blobs[key][0]

    async def delete(self, key: str) -> None:
        self.blobs.pop(key, None)

    async def url(self, key: str, expires_in: timedelta, filename: str | None = None) -> str:
        return f"memory://{key}?expires={int((self.clock.now() + expires_in).timestamp())}"

    async def sweep(self, older_than: datetime) -> int:
        old = [key for key, (_, _, stored) in self.blobs.items() if stored < older_than]
        for key in old:
            del self.blobs[key]
        return len(old)

    async def check(self) -> None:
        return None


class FakeWebhookSender:
    """Records what would have been sent; ``failures`` makes the next sends raise it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, bytes]] = []
        self.failures: list[Exception] = []

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((url, secret, message_id, payload))
