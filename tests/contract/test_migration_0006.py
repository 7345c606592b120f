"""Migration 0006 on SQLite and MariaDB: stored e-mails move to their canonical spelling (unless that
spelling is taken), and e-mails and Idempotency-Keys compare exactly afterwards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.models import UserRow

NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def test_stored_emails_take_their_canonical_spelling_and_compare_exactly(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    too_long = "\ufb03" * 85 + "@example.com"  # the "ffi" ligature: NFKC spells it out, 267 characters
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0005")
        stored = [
            "straße@example.com",
            "ｆｕｌｌ@example.com",
            "kept@example.com",
            "keptß@example.com",
            "keptss@example.com",
            too_long,
        ]
        async with engine.begin() as connection:
            for email in stored:
                await connection.execute(
                    insert(UserRow).values(
                        id=uuid.uuid4(), email=email, password_hash="h", created_at=NOW, is_active=True, is_admin=False
                    )
                )
        await upgrade(engine)
        async with engine.begin() as connection:
            emails = set((await connection.execute(select(UserRow.email))).scalars())
            assert emails == {
                "strasse@example.com",
                "full@example.com",
                "kept@example.com",
                "keptß@example.com",  # its canonical spelling belongs to another account: left as it was
                "keptss@example.com",
                too_long,  # its canonical spelling does not fit the column
            }
            kept = [record.getMessage() for record in caplog.records if "cannot log in" in record.getMessage()]
            assert len(kept) == 2 and "keptß@example.com" in kept[0] + kept[1]  # the operator is told which
            for email in ("Exact@example.com", "exact@example.com", "éxact@example.com"):  # three addresses
                await connection.execute(
                    insert(UserRow).values(
                        id=uuid.uuid4(), email=email, password_hash="h", created_at=NOW, is_active=True, is_admin=False
                    )
                )
            found = await connection.execute(select(UserRow.email).where(UserRow.email == "exact@example.com"))
            assert list(found.scalars()) == ["exact@example.com"]
    finally:  # the database is this module's own (a temp file, or a MariaDB database dropped afterwards)
        await engine.dispose()
