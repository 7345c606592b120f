"""Messages sent through the contact form, and what makes one acceptable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidField
from domain.users import normalise_email

MAX_NAME_LENGTH = 100
MIN_MESSAGE_LENGTH = 10
MAX_MESSAGE_LENGTH = 5000


@dataclass(slots=True)
class ContactMessage:
    name: str
    email: str
    message: str
    created_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def compose_message(name: str, email: str, message: str, now: datetime) -> ContactMessage:
    """A message with its fields trimmed and checked; each problem names its field."""
    name, message = name.strip(), message.strip()
    if not name:
        raise InvalidField("Please tell us your name.", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidField(f"A name is at most {MAX_NAME_LENGTH} characters.", field="name")
    email = normalise_email(email)
    if len(message) < MIN_MESSAGE_LENGTH:
        raise InvalidField(f"Write at least {MIN_MESSAGE_LENGTH} characters.", field="message")
    if len(message) > MAX_MESSAGE_LENGTH:
        raise InvalidField(f"A message is at most {MAX_MESSAGE_LENGTH} characters.", field="message")
    return ContactMessage(name, email, message, now)
