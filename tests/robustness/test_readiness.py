"""Readiness must not say ``database: ok`` while the schema is gone: with its database dropped (MariaDB)
or a table dropped (SQLite), ``/health/ready`` answers 503 naming the database, and once the database
is back the same server is ready again, no restart. The real app over HTTP on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pymysql
import pytest
from api.conftest import make_settings
from contract.conftest import MYSQL_URL, _mysql_admin
from live_accounts import PASSWORD
from robustness.live_server import serve_in_thread
from robustness.real_app import migrated, real_adapters
from services import require_service
from sqlalchemy.engine import make_url

from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from entrypoints.http.app import create_app


@contextlib.contextmanager
def served(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    adapters = real_adapters(database_url)
    assert isinstance(adapters.uow, SqlUnitOfWorkFactory)
    adapters.checks["database"] = adapters.uow.ping  # what build_adapters wires
    with (
        serve_in_thread(create_app(make_settings(tmp_path), adapters)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield client


def readiness(client: httpx.Client) -> tuple[int, dict[str, object]]:
    answer = client.get("/health/ready")
    return answer.status_code, answer.json()


def sign_up(client: httpx.Client, email: str) -> int:
    client.cookies.clear()
    return client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD}).status_code


@pytest.mark.mysql
def test_a_dropped_mariadb_database_is_unready_until_it_is_back(tmp_path: Path) -> None:
    try:
        admin = _mysql_admin()
    except pymysql.err.OperationalError as error:
        require_service(False, f"MySQL at {MYSQL_URL} ({error})")
        raise
    name = f"cutout_ready_{uuid.uuid4().hex[:12]}"
    url = make_url(MYSQL_URL).set(database=name, query={"charset": "utf8mb4"}).render_as_string(hide_password=False)

    def create() -> None:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        asyncio.run(migrated(url))

    def drop() -> None:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")

    create()
    try:
        with served(url, tmp_path) as client:
            assert readiness(client) == (200, {"status": "ok", "checks": {"database": "ok"}})
            assert sign_up(client, "before@example.com") == 201

            drop()
            assert readiness(client) == (503, {"status": "unavailable", "checks": {"database": "unavailable"}})

            create()
            assert readiness(client) == (200, {"status": "ok", "checks": {"database": "ok"}})
            assert sign_up(client, "after@example.com") == 201
    finally:
        drop()
        admin.close()


def test_a_dropped_sqlite_table_makes_the_database_unready(tmp_path: Path) -> None:
    path = tmp_path / "cutout.db"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(migrated(url))
    with served(url, tmp_path) as client:
        assert readiness(client) == (200, {"status": "ok", "checks": {"database": "ok"}})
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA foreign_keys=OFF")
            db.execute("DROP TABLE api_keys")
            db.commit()
        assert readiness(client) == (503, {"status": "unavailable", "checks": {"database": "unavailable"}})
