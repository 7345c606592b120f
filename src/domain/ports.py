"""The ports: what the domain needs from the outside world, as Protocols.

Adapters in ``src/adapters`` implement them; ``tests/fakes.py`` has an in-memory fake for each.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from domain.api_keys import ApiKey
from domain.contact import ContactMessage
from domain.credits import LedgerEntry
from domain.cutouts import CutoutOptions, ImageInfo, RenderedImage
from domain.jobs import Job
from domain.rate_limits import RateLimit, RateLimitState
from domain.sessions import Session
from domain.users import User
from domain.webhooks import WebhookDelivery


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; raises ``EmailTaken`` when the email exists."""

    async def get(self, user_id: uuid.UUID) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None: ...

    async def update_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None: ...

    async def set_webhook_secret(self, user_id: uuid.UUID, secret: str) -> None: ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def get(self, key_id: uuid.UUID) -> ApiKey | None: ...

    async def find_by_hash(self, secret_hash: str) -> ApiKey | None: ...

    async def list_for_user(self, user_id: uuid.UUID) -> Sequence[ApiKey]: ...

    async def count_active(self, user_id: uuid.UUID) -> int:
        """The user's unrevoked keys; holds the user's row locked until the transaction ends, so
        concurrent creations count one after the other."""

    async def save(self, key: ApiKey) -> None:
        """Persist ``last_used_at`` and ``revoked_at``."""


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def get(self, token_hash: str) -> Session | None: ...

    async def delete(self, token_hash: str) -> None: ...

    async def delete_expired(self, now: datetime) -> int:
        """Delete every session that ended by ``now``; how many there were."""


class CreditLedger(Protocol):
    async def open_account(self, user_id: uuid.UUID) -> None:
        """Create the user's balance at zero."""

    async def post(self, entry: LedgerEntry) -> None:
        """Append ``entry`` and move the balance by its delta, atomically with the transaction.

        Raises ``InsufficientCredits`` when the balance would go below zero and
        ``AlreadyPosted`` when an entry of the same kind and reference exists.
        """

    async def balance(self, user_id: uuid.UUID) -> int: ...

    async def entries(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[LedgerEntry], int]:
        """Newest first, with the total count."""


class JobRepository(Protocol):
    async def add(self, job: Job) -> None: ...

    async def get(self, job_id: uuid.UUID) -> Job | None: ...

    async def lock(self, job_id: uuid.UUID) -> Job | None:
        """Read the job and lock its row until the transaction ends."""

    async def save(self, job: Job) -> None: ...

    async def lease_expired(self, now: datetime, limit: int) -> Sequence[Job]:
        """Running jobs whose lease ended before ``now``, locked for this transaction."""

    async def claim_next(self, now: datetime) -> Job | None:
        """The oldest queued job available at ``now``, locked for this transaction; jobs other
        transactions hold are skipped, not waited for."""

    async def heartbeat(self, job_id: uuid.UUID, worker_id: str, lease_until: datetime, progress: int) -> bool:
        """Extend the lease of a job ``worker_id`` still holds; False when it holds it no longer."""

    async def get_by_idempotency_key(self, user_id: uuid.UUID, key: str) -> Job | None: ...

    async def list_for_user(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[Job], int]:
        """Asynchronous jobs, newest first, with the total count."""

    async def retention_due(self, created_before: datetime, limit: int) -> Sequence[Job]:
        """Jobs created before the cut-off that still hold blobs or have not ended, locked;
        running jobs are left to their lease."""

    async def delete_finished_sync(self, created_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` ended synchronous jobs created before the cut-off, oldest first,
        skipping rows other transactions hold; how many were deleted."""


class WebhookRepository(Protocol):
    async def add(self, delivery: WebhookDelivery) -> None:
        """Store a delivery; a job has at most one (a second is ignored)."""

    async def claim_due(self, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
        """Pending deliveries due at ``now``, locked for this transaction, skipping locked ones."""

    async def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None: ...

    async def save(self, delivery: WebhookDelivery) -> None: ...


class ContactRepository(Protocol):
    async def add(self, message: ContactMessage) -> None: ...

    async def recent(self, limit: int) -> Sequence[ContactMessage]:
        """The newest ``limit`` messages, newest first."""


class UnitOfWork(Protocol):
    """One database transaction. Leaving the block without ``commit()`` rolls back.

    The repositories are read-only properties, so an implementation may hold narrower types
    (its own SQL or in-memory repositories) and still satisfy the port."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def ledger(self) -> CreditLedger: ...

    @property
    def jobs(self) -> JobRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def contacts(self) -> ContactRepository: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


BalanceListener = Callable[[uuid.UUID], None]


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...

    def on_balance_change(self, listener: BalanceListener) -> None:
        """After each commit, call ``listener`` with every user whose balance it changed."""


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when it matches; never raises for a wrong password."""

    def needs_rehash(self, password_hash: str) -> bool: ...


@runtime_checkable
class Picture(Protocol):
    """A decoded, upright image held by the imaging adapter; the domain only reads its size."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...


class Mask(Protocol):
    """An alpha mask (0 = background, 255 = subject) made by the remover for the imaging adapter to
    render; the domain only passes it on. It is the size of its picture."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...


class Imaging(Protocol):
    def probe(self, data: bytes) -> ImageInfo:
        """Read the header only. Raises InvalidImage, UnsupportedFormat or ImageTooLarge."""

    def check_options(self, options: CutoutOptions) -> None:
        """Raise InvalidOption for a value it cannot render (an unknown ``bg_color``)."""

    async def decode(self, data: bytes, size: tuple[int, int]) -> Picture:
        """Decode, apply EXIF orientation and scale to ``size`` (width, height)."""

    async def render(self, picture: Picture, mask: Mask, options: CutoutOptions) -> RenderedImage:
        """Apply the alpha ``mask`` and every option, and encode; ``UnknownForeground`` when it holds no subject."""


@runtime_checkable
class BackgroundRemover(Protocol):
    async def mask(self, picture: Picture) -> Mask:
        """An alpha mask (0 = background, 255 = subject) the size of ``picture``."""

    async def check(self) -> None:
        """Raise when the model cannot serve (for readiness)."""


class UrlFetcher(Protocol):
    async def fetch(self, url: str, max_bytes: int) -> bytes:
        """Download ``url``; raises UrlNotAllowed, UrlFetchFailed or FileTooLarge."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class RateLimiter(Protocol):
    """Counts hits in a store every server process sees."""

    async def hit(self, key: str, rule: RateLimit) -> RateLimitState:
        """Count one hit for ``key`` in the current window of ``rule`` and say whether it is allowed.

        A refused hit is counted too, so hammering does not open the window early.
        """

    async def purge(self, now: datetime) -> int:
        """Delete the counts of every window finished by ``now``; how many there were."""


class LoginAttemptStore(Protocol):
    """Login attempts per address (``domain.throttle``), in a store every server process shares."""

    async def attempt(self, key: str, now: datetime) -> int:
        """Count an attempt for ``key`` unless it is locked out; the seconds it must wait (0: counted, go on).

        Counting and checking are one atomic step, so concurrent attempts are counted one by one."""

    async def clear(self, key: str) -> None:
        """A successful login: forget the attempts of ``key``."""

    async def purge(self, now: datetime) -> int:
        """Delete the records whose window and lock are over by ``now``; how many there were."""


class BlobStore(Protocol):
    """Transient image storage (a directory or an S3 bucket), addressed by keys like ``jobs/<id>/input``."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; raises ``BlobMissing`` when there are none."""

    async def delete(self, key: str) -> None:
        """Remove ``key``; a key that is already gone is not an error."""

    async def url(self, key: str, expires_in: timedelta, filename: str | None = None) -> str:
        """A URL anyone holding it can download ``key`` from until it expires."""

    async def sweep(self, older_than: datetime) -> int:
        """Delete every blob stored before ``older_than``; the number deleted."""

    async def check(self) -> None:
        """Raise when the store cannot be written (for readiness)."""


class WebhookSender(Protocol):
    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> None:
        """POST ``payload`` to ``url`` signed with ``secret`` (Standard Webhooks headers).

        Raises ``UrlNotAllowed`` for a URL that may never be called, and ``UrlFetchFailed``
        when the receiver is unreachable or answers anything but 2xx.
        """


class PredictionInbox(Protocol):
    """Finished remote predictions delivered by webhook, kept where every server process can read them,
    so the process waiting for a prediction learns of it whichever process received the webhook."""

    async def put(self, prediction_id: str, prediction: dict[str, Any]) -> None:
        """Record (or replace) the delivered state of ``prediction_id``."""

    async def get(self, prediction_id: str) -> dict[str, Any] | None: ...

    async def delete(self, prediction_id: str) -> None: ...


@runtime_checkable
class WebhookReceiver(Protocol):
    async def receive(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Verify a signed delivery and record it; raises ``InvalidSignature`` when it is forged or stale."""
