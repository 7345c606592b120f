"""API keys: long random secrets, shown once and stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidRequest

KEY_PREFIX = "co_"
SHOWN_PREFIX_LENGTH = 10
MAX_NAME_LENGTH = 100


@dataclass(slots=True)
class ApiKey:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    secret_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def hash_secret(secret: str) -> str:
    """A plain SHA-256 is right here: the secret has 256 random bits, so no stretching is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(user_id: uuid.UUID, name: str, now: datetime) -> tuple[ApiKey, str]:
    """Make a new key for ``user_id``; returns the stored record and the secret to show once."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"The key name must be 1 to {MAX_NAME_LENGTH} characters.", field="name")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        user_id=user_id,
        name=name,
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        secret_hash=hash_secret(secret),
        created_at=now,
    )
    return key, secret
