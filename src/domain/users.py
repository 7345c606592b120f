"""Users and the rules for their email addresses and passwords."""

from __future__ import annotations

import re
import unicodedata
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


def canonical_email(raw: str) -> str:
    """The one spelling of an address that is stored, looked up and throttled: NFKC, case-folded,
    trimmed. Spellings that differ in case or width (``ADA@``, fullwidth ``ａｄａ@``) are one address;
    accented letters stay letters of their own (``vïctim`` is not ``victim``), as in the database's
    binary collation, so the database and this rule always agree on which addresses are equal."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold()).strip()


def normalise_email(raw: str) -> str:
    """The canonical spelling of an address, rejecting anything that is not shaped like one."""
    email = canonical_email(raw)
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidEmail(field="email")
    return email


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPassword(field="password", min_length=MIN_PASSWORD_LENGTH)
