"""The credits ledger: append-only entries whose sum is the balance.

Each entry carries a ``reference`` that is unique per ``kind``, so "grant once per sign-up,
charge once and refund once per job, book once per payment event" is a database fact.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime


class LedgerKind(enum.StrEnum):
    SIGNUP_GRANT = "signup_grant"
    PURCHASE = "purchase"
    CHARGE = "charge"
    REFUND = "refund"
    ADMIN_GRANT = "admin_grant"


@dataclass(slots=True)
class LedgerEntry:
    user_id: uuid.UUID
    delta: int
    kind: LedgerKind
    reference: str
    created_at: datetime
    job_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def signup_grant(user_id: uuid.UUID, amount: int, now: datetime) -> LedgerEntry:
    return LedgerEntry(user_id, amount, LedgerKind.SIGNUP_GRANT, f"signup:{user_id}", now)


def admin_grant(user_id: uuid.UUID, amount: int, now: datetime) -> LedgerEntry:
    return LedgerEntry(user_id, amount, LedgerKind.ADMIN_GRANT, f"admin:{uuid.uuid4()}", now)


def job_charge(user_id: uuid.UUID, job_id: uuid.UUID, amount: int, now: datetime) -> LedgerEntry:
    return LedgerEntry(user_id, -amount, LedgerKind.CHARGE, f"job:{job_id}", now, job_id)


def job_refund(user_id: uuid.UUID, job_id: uuid.UUID, amount: int, now: datetime) -> LedgerEntry:
    return LedgerEntry(user_id, amount, LedgerKind.REFUND, f"job:{job_id}", now, job_id)
