"""The ``cutout`` command against a real database (SQLite and MariaDB)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import delete

from adapters.sql.engine import create_engine
from adapters.sql.models import ContactMessageRow
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.contact import ContactMessage
from entrypoints.cli import main


def run(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"CUTOUT_DATA_DIR": str(tmp_path), "CUTOUT_DATABASE_URL": database_url, "CUTOUT_SIGNUP_CREDITS": "3"}
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_migrate_create_user_and_grant(database_url: str, tmp_path: Path) -> None:
    assert run(database_url, tmp_path, "migrate") == (0, "database is up to date\n")
    code, out = run(database_url, tmp_path, "user", "create", "Ops@Example.com", "--password", "long enough pw")
    assert code == 0 and "created user ops@example.com" in out
    code, out = run(database_url, tmp_path, "credits", "grant", "ops@example.com", "5")
    assert (code, out) == (0, "granted 5; ops@example.com now has 8 credits\n")
    code, out = run(database_url, tmp_path, "user", "create", "ops@example.com", "--password", "long enough pw")
    assert code == 1 and "email_taken" in out
    code, out = run(database_url, tmp_path, "credits", "grant", "nobody@example.com", "5")
    assert code == 1 and "not_found" in out
    code, out = run(database_url, tmp_path, "credits", "grant", "ops@example.com", "0")
    assert code == 1 and "invalid_request" in out


def test_generated_password_is_printed(database_url: str, tmp_path: Path) -> None:
    code, out = run(database_url, tmp_path, "user", "create", "gen@example.com", "--password", "-")
    assert code == 0 and out.startswith("password: ") and len(out.splitlines()[0]) > 20


async def test_messages_shows_the_newest_contact_messages(database_url: str, tmp_path: Path) -> None:
    assert (await asyncio.to_thread(run, database_url, tmp_path, "migrate"))[0] == 0  # the CLI runs its own loop
    engine = create_engine(database_url)
    try:
        uow = SqlUnitOfWorkFactory(engine)
        for n, minute in enumerate((1, 2)):
            async with uow() as tx:
                await tx.contacts.add(
                    ContactMessage(
                        f"Sender {n}", f"s{n}@example.com", f"Message {n}", datetime(2026, 5, 1, 9, minute, tzinfo=UTC)
                    )
                )
                await tx.commit()
        code, out = await asyncio.to_thread(run, database_url, tmp_path, "messages", "--limit", "1")
        assert code == 0, out
        assert out == "--- 2026-05-01 09:02 UTC  Sender 1 <s1@example.com>\n    Message 1\n(1 shown)\n"
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(ContactMessageRow))
        await engine.dispose()
