"""The unit of work and its repositories against their ports: SQLite, MariaDB and the fake, by the same tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from adapters.sql.models import Base
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain import credits
from domain.api_keys import issue_api_key
from domain.contact import ContactMessage
from domain.cutouts import CutoutOptions
from domain.errors import AlreadyPosted, EmailTaken, InsufficientCredits
from domain.geometry import CropMargin
from domain.jobs import Job, JobStatus
from domain.ports import UnitOfWorkFactory
from domain.pricing import SizeChoice
from domain.sessions import open_session
from domain.users import User

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def new_user(uow_factory: UnitOfWorkFactory, email: str = "ada@example.com", balance: int = 0) -> User:
    user = User(uuid.uuid4(), email, "hash", NOW)
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.ledger.open_account(user.id)
        if balance:
            await uow.ledger.post(credits.admin_grant(user.id, balance, NOW))
        await uow.commit()
    return user


async def test_migrations_match_the_models(sql_uow: SqlUnitOfWorkFactory) -> None:
    # SQL only: compares the migrated schema with the models.
    async with sql_uow.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": False}), Base.metadata)
        )
    assert diff == []


async def test_users(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    async with uow_factory() as uow:
        stored = await uow.users.get(user.id)
        assert stored == user  # microseconds and the timezone survive the round trip
        assert await uow.users.get_by_email("ada@example.com") == user
        assert await uow.users.get_by_email("bob@example.com") is None
        await uow.users.update_password_hash(user.id, "new-hash")
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.users.get(user.id)).password_hash == "new-hash"  # type: ignore[union-attr]
    with pytest.raises(EmailTaken) as taken:
        await new_user(uow_factory, "ada@example.com")
    assert taken.value.details == {"field": "email"}  # the sign-up form shows the error by this field


async def test_emails_are_compared_exactly(uow_factory: UnitOfWorkFactory) -> None:
    """The use cases store the canonical spelling; the store itself compares byte for byte."""
    user = await new_user(uow_factory, "ada@example.com")
    other = await new_user(uow_factory, "Ada@example.com")
    async with uow_factory() as uow:
        assert await uow.users.get_by_email("ADA@example.com") is None
        assert await uow.users.get_by_email("Ada@example.com") == other != user


async def test_updating_an_unknown_user_changes_nothing(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    async with uow_factory() as uow:
        await uow.users.update_password_hash(uuid.uuid4(), "new-hash")
        await uow.users.set_webhook_secret(uuid.uuid4(), "whsec_x")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.get(user.id) == user


async def test_uncommitted_work_is_rolled_back(uow_factory: UnitOfWorkFactory) -> None:
    user = User(uuid.uuid4(), "gone@example.com", "hash", NOW)
    async with uow_factory() as uow:
        await uow.users.add(user)
    async with uow_factory() as uow:
        assert await uow.users.get(user.id) is None


async def test_after_commit_or_rollback_a_new_transaction_begins(uow_factory: UnitOfWorkFactory) -> None:
    kept, dropped, after_rollback = (User(uuid.uuid4(), f"{n}@example.com", "hash", NOW) for n in "abc")
    async with uow_factory() as uow:
        await uow.users.add(kept)
        await uow.commit()
        await uow.users.add(dropped)  # left without commit
    async with uow_factory() as uow:
        await uow.users.add(User(uuid.uuid4(), "rolled@example.com", "hash", NOW))
        await uow.rollback()
        await uow.users.add(after_rollback)
        await uow.commit()
    async with uow_factory() as uow:
        assert [await uow.users.get(u.id) for u in (kept, dropped, after_rollback)] == [kept, None, after_rollback]
        assert await uow.users.get_by_email("rolled@example.com") is None


async def test_two_open_units_of_work_keep_each_others_commits(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory, balance=5)
    ada, bob = User(uuid.uuid4(), "a@example.com", "hash", NOW), User(uuid.uuid4(), "b@example.com", "hash", NOW)
    # SQLite takes its write lock at a transaction's first statement: the first one opened writes last.
    async with uow_factory() as first, uow_factory() as second:
        await second.users.add(bob)
        await second.ledger.post(credits.job_charge(user.id, uuid.uuid4(), 2, NOW))
        await second.commit()
        assert await first.users.get(bob.id) == bob  # committed before the first one's first statement
        await first.users.add(ada)
        await first.ledger.post(credits.job_charge(user.id, uuid.uuid4(), 1, NOW))
        await first.commit()
    async with uow_factory() as uow:
        assert await uow.users.get(ada.id) == ada and await uow.users.get(bob.id) == bob
        assert await uow.ledger.balance(user.id) == 2
        assert (await uow.ledger.entries(user.id, 10, 0))[1] == 3


async def test_api_keys(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    key, secret = issue_api_key(user.id, "laptop", NOW)
    second, _ = issue_api_key(user.id, "ci", NOW + timedelta(seconds=1))
    async with uow_factory() as uow:
        await uow.api_keys.add(key)
        await uow.api_keys.add(second)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_keys.find_by_hash(key.secret_hash) == key
        assert await uow.api_keys.find_by_hash("0" * 64) is None
        assert [k.name for k in await uow.api_keys.list_for_user(user.id)] == ["laptop", "ci"]
        key.revoked_at = key.last_used_at = NOW + timedelta(hours=1)
        await uow.api_keys.save(key)
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.api_keys.get(key.id)) == key


async def test_save_updates_what_was_added_and_adds_nothing(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    key, _ = issue_api_key(user.id, "laptop", NOW)
    never_added, _ = issue_api_key(user.id, "ghost", NOW)
    job = Job(user.id, JobStatus.QUEUED, CutoutOptions(), 1, NOW, NOW)
    async with uow_factory() as uow:
        await uow.api_keys.add(key)
        await uow.api_keys.save(never_added)
        await uow.jobs.save(job)
        await uow.commit()
    async with uow_factory() as uow:
        saved = await uow.api_keys.get(key.id)
        assert saved is not None
        saved.name, saved.last_used_at = "renamed", NOW + timedelta(minutes=1)
        await uow.api_keys.save(saved)  # only the times a key keeps are saved
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_keys.get(never_added.id) is None and await uow.jobs.get(job.id) is None
        stored = await uow.api_keys.get(key.id)
        assert stored is not None and stored.name == "laptop" and stored.last_used_at == NOW + timedelta(minutes=1)


async def test_sessions(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    session, _token = open_session(user.id, NOW)
    async with uow_factory() as uow:
        await uow.sessions.add(session)
        await uow.commit()
    async with uow_factory() as uow:
        read = await uow.sessions.get(session.token_hash)
        assert read is not None and read == session
        read.expires_at = NOW  # what a read returns is a copy: changing it saves nothing
        assert await uow.sessions.get(session.token_hash) == session
        await uow.sessions.delete(session.token_hash)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.sessions.get(session.token_hash) is None


async def test_ended_sessions_are_deleted(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    old, _ = open_session(user.id, NOW - timedelta(days=15))
    live, _ = open_session(user.id, NOW)
    async with uow_factory() as uow:
        await uow.sessions.add(old)
        await uow.sessions.add(live)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.sessions.delete_expired(NOW) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.sessions.get(old.token_hash) is None
        assert await uow.sessions.get(live.token_hash) == live


async def test_live_api_keys_are_counted(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    keys = [issue_api_key(user.id, f"k{i}", NOW)[0] for i in range(3)]
    keys[0].revoked_at = NOW
    async with uow_factory() as uow:
        for key in keys:
            await uow.api_keys.add(key)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_keys.count_active(user.id) == 2
        assert await uow.api_keys.count_active(uuid.uuid4()) == 0


async def test_ledger_moves_the_balance_with_each_entry(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory, balance=3)
    job_id = uuid.uuid4()
    async with uow_factory() as uow:
        await uow.ledger.post(credits.job_charge(user.id, job_id, 1, NOW + timedelta(seconds=1)))
        await uow.ledger.post(credits.job_refund(user.id, job_id, 1, NOW + timedelta(seconds=2)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.ledger.balance(user.id) == 3
        entries, total = await uow.ledger.entries(user.id, limit=2, offset=0)
        assert total == 3
        assert [e.kind for e in entries] == [credits.LedgerKind.REFUND, credits.LedgerKind.CHARGE]
        assert entries[1].job_id == job_id and entries[1].delta == -1
        rest, _ = await uow.ledger.entries(user.id, limit=2, offset=2)
        assert [e.kind for e in rest] == [credits.LedgerKind.ADMIN_GRANT]


async def test_ledger_entries_come_newest_first_by_their_time(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    times = [NOW + timedelta(minutes=m) for m in (2, 0, 3, 1)]
    async with uow_factory() as uow:
        for at in times:
            await uow.ledger.post(credits.admin_grant(user.id, 1, at))
        await uow.commit()
    async with uow_factory() as uow:
        entries, total = await uow.ledger.entries(user.id, limit=3, offset=0)
    assert total == 4 and [e.created_at for e in entries] == sorted(times, reverse=True)[:3]


async def test_posting_to_a_user_without_an_account_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(InsufficientCredits):
            await uow.ledger.post(credits.admin_grant(uuid.uuid4(), 5, NOW))


async def test_a_commit_reports_whose_balance_it_moved(uow_factory: UnitOfWorkFactory) -> None:
    ada, bob = await new_user(uow_factory), await new_user(uow_factory, "bob@example.com")
    moved: list[uuid.UUID] = []
    uow_factory.on_balance_change(moved.append)
    async with uow_factory() as uow:
        await uow.ledger.post(credits.admin_grant(ada.id, 2, NOW))
    assert moved == []  # rolled back: nothing moved
    async with uow_factory() as uow:
        await uow.ledger.post(credits.admin_grant(ada.id, 2, NOW))
        await uow.ledger.post(credits.admin_grant(ada.id, 3, NOW + timedelta(seconds=1)))
        assert moved == []  # not before the commit
        await uow.commit()
        await uow.ledger.post(credits.admin_grant(bob.id, 1, NOW))
        await uow.commit()
    assert moved == [ada.id, bob.id]


async def test_the_balance_never_goes_negative(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory, balance=1)
    async with uow_factory() as uow:
        with pytest.raises(InsufficientCredits) as short:
            await uow.ledger.post(credits.job_charge(user.id, uuid.uuid4(), 2, NOW))
        assert short.value.details == {"required": 2}
    async with uow_factory() as uow:
        assert await uow.ledger.balance(user.id) == 1
        assert (await uow.ledger.entries(user.id, 10, 0))[1] == 1


async def test_an_event_is_booked_once(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory, balance=3)
    job_id = uuid.uuid4()
    async with uow_factory() as uow:
        await uow.ledger.post(credits.job_charge(user.id, job_id, 1, NOW))
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(AlreadyPosted) as posted:
            await uow.ledger.post(credits.job_charge(user.id, job_id, 1, NOW))
        assert posted.value.details == {"kind": "charge", "reference": f"job:{job_id}"}
    async with uow_factory() as uow:
        assert await uow.ledger.balance(user.id) == 2  # the second charge left no trace
        assert (await uow.ledger.entries(user.id, 10, 0))[1] == 2


async def test_jobs_and_expired_leases(uow_factory: UnitOfWorkFactory) -> None:
    user = await new_user(uow_factory)
    full = CutoutOptions(size=SizeChoice.FULL, crop_margin=CropMargin.parse("10% 5px"))
    running = Job(user.id, JobStatus.RUNNING, full, 1, NOW, NOW, lease_expires_at=NOW + timedelta(minutes=2))
    done = Job(user.id, JobStatus.RUNNING, CutoutOptions(), 1, NOW, NOW, lease_expires_at=NOW - timedelta(minutes=2))
    async with uow_factory() as uow:
        await uow.jobs.add(running)
        await uow.jobs.add(done)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.get(running.id) == running
        done.move_to(JobStatus.SUCCEEDED, NOW)
        await uow.jobs.save(done)
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.jobs.lock(done.id)) == done
        assert await uow.jobs.lease_expired(NOW + timedelta(minutes=1), 10) == []
        assert [j.id for j in await uow.jobs.lease_expired(NOW + timedelta(minutes=3), 10)] == [running.id]


async def test_contact_messages(uow_factory: UnitOfWorkFactory) -> None:
    first = ContactMessage("Ada", "ada@example.com", "Hello there, Cutout! ü €", NOW)
    second = ContactMessage("Bob", "bob@example.com", "x" * 5000, NOW + timedelta(seconds=1))
    async with uow_factory() as uow:
        await uow.contacts.add(second)  # the newest by its time, whatever the order of insertion
        await uow.contacts.add(first)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.contacts.recent(10) == [second, first]  # unicode and 5000 characters survive
        assert await uow.contacts.recent(1) == [second]
    async with uow_factory() as uow:
        await uow.contacts.add(ContactMessage("Eve", "eve@example.com", "never committed", NOW))
    async with uow_factory() as uow:
        assert len(await uow.contacts.recent(10)) == 2
