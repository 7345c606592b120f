"""Queue throughput on MariaDB: how fast workers claim and finish jobs when the work itself is free.

Queues N jobs, then runs W concurrent claimers (each one a worker slot with its own connections),
each looping claim -> mark succeeded, as `RunJobs` does around a no-op remover. Prints jobs per
second and the latency of the claim transaction. Usage:

    .venv/bin/python bench/queue_throughput.py [--jobs 2000] [--slots 1 4 16] [--url mysql+aiomysql://root@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import timedelta

import pymysql
from sqlalchemy.engine import make_url

from adapters.clock import SystemClock
from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain import credits
from domain.cutouts import CutoutOptions
from domain.jobs import Job, JobStatus
from domain.use_cases.job_endings import succeed
from domain.users import User

LEASE = timedelta(seconds=30)


async def queue_jobs(uow: SqlUnitOfWorkFactory, count: int) -> None:
    clock = SystemClock()
    user = User(uuid.uuid4(), f"bench-{uuid.uuid4().hex[:8]}@example.com", "x", clock.now())
    async with uow() as tx:
        await tx.users.add(user)
        await tx.ledger.open_account(user.id)
        await tx.ledger.post(credits.admin_grant(user.id, count, clock.now()))
        for _ in range(count):
            now = clock.now()
            job = Job(user.id, JobStatus.QUEUED, CutoutOptions(), 1, now, now, available_at=now)
            await tx.jobs.add(job)
            await tx.ledger.post(credits.job_charge(user.id, job.id, 1, now))
        await tx.commit()


async def slot(uow: SqlUnitOfWorkFactory, name: str, claims: list[float]) -> int:
    clock = SystemClock()
    done = 0
    while True:
        started = time.perf_counter()
        async with uow() as tx:
            job = await tx.jobs.claim_next(clock.now())
            if job is None:
                return done
            job.start(name, LEASE, clock.now())
            await tx.jobs.save(job)
            await tx.commit()
        claims.append(time.perf_counter() - started)
        async with uow() as tx:
            held = await tx.jobs.lock(job.id)
            assert held is not None and held.is_held_by(name)
            await succeed(tx, held, None, clock.now())
            await tx.commit()
        done += 1


async def run(url: str, jobs: int, slots: int) -> tuple[float, list[float]]:
    engine = create_engine(url)
    await upgrade(engine)
    uow = SqlUnitOfWorkFactory(engine)
    await queue_jobs(uow, jobs)
    claims: list[float] = []
    started = time.perf_counter()
    finished = await asyncio.gather(*(slot(uow, f"w{i}", claims) for i in range(slots)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    assert sum(finished) == jobs, finished
    return jobs / elapsed, claims


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--url", default="mysql+aiomysql://root@127.0.0.1:3306/test")
    args = parser.parse_args()
    base = make_url(args.url)
    print(f"{'slots':>5} {'jobs/s':>8} {'claim p50 ms':>13} {'claim p95 ms':>13}")
    for slots in args.slots:
        name = f"cutout_bench_{uuid.uuid4().hex[:8]}"
        admin = pymysql.connect(host=base.host or "127.0.0.1", port=base.port or 3306, user=base.username or "root")
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
        try:
            rate, claims = asyncio.run(
                run(base.set(database=name).render_as_string(hide_password=False), args.jobs, slots)
            )
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE `{name}`")
            admin.close()
        p50 = statistics.median(claims) * 1000
        p95 = statistics.quantiles(claims, n=20)[-1] * 1000
        print(f"{slots:>5} {rate:>8.0f} {p50:>13.1f} {p95:>13.1f}")


if __name__ == "__main__":
    main()
