"""Browser sessions: a random token in a cookie, stored server-side as a digest so logout ends it."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

SESSION_LIFETIME = timedelta(days=14)


@dataclass(slots=True)
class Session:
    token_hash: str
    user_id: uuid.UUID
    created_at: datetime
    expires_at: datetime

    def is_valid_at(self, now: datetime) -> bool:
        return now < self.expires_at


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user_id: uuid.UUID, now: datetime) -> tuple[Session, str]:
    """A fresh session with a new token: every login gets a new id, so a planted id is useless."""
    token = secrets.token_urlsafe(32)
    return Session(hash_token(token), user_id, now, now + SESSION_LIFETIME), token
