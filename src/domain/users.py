"""Users and the rules for their email addresses and passwords."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidEmail, WeakPassword

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254

# Deliberately loose: one "@", no spaces, a dot in the domain. Deliverability is proven by use.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(slots=True)
class User:
    id: uuid.UUID
    email: str
    password_hash: str
    created_at: datetime
    is_active: bool = True
    is_admin: bool = False
    webhook_secret: str | None = None


def normalise_email(raw: str) -> str:
    """Trim and lower-case an address, rejecting anything that is not shaped like one."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidEmail(field="email")
    return email


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPassword(field="password", min_length=MIN_PASSWORD_LENGTH)
