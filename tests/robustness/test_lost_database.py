"""A sign-up while the database is lost answers 503 ``storage_unavailable``, never a 500 and never
``email_taken``. The real app (real SQL adapters): on SQLite its database directory is removed and its
pooled connections closed; on MariaDB it talks to the server through a loopback proxy that is cut,
dropping every connection and refusing new ones; once the proxy is back, sign-ups work again."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from api.conftest import make_settings
from contract.conftest import MYSQL_URL
from litestar.testing import AsyncTestClient
from robustness.real_app import migrated, real_adapters
from sqlalchemy.engine import make_url

from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from entrypoints.http.app import create_app

PASSWORD = "correct horse battery"
T = TypeVar("T")


class CuttableProxy:
    """A TCP proxy on loopback to the MariaDB server, on an event loop of its own (the app's loop is
    another thread's); ``cut`` closes every connection and the listener, ``resume`` listens again."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def __enter__(self) -> CuttableProxy:
        self._thread.start()
        self.resume()
        return self

    def __exit__(self, *_: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def resume(self) -> None:
        self._server = self._call(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self._call(self._cut())

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, upstream_writer}
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._writers -= {writer, upstream_writer}
            for each in (writer, upstream_writer):
                each.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.asynccontextmanager
async def app_on(url: str, tmp_path: Path) -> AsyncIterator[tuple[AsyncTestClient[Any], Any]]:
    adapters = real_adapters(url)
    assert isinstance(adapters.uow, SqlUnitOfWorkFactory)
    settings = make_settings(tmp_path, CUTOUT_SERVER_WORKER="false")
    async with AsyncTestClient(create_app(settings, adapters)) as client:
        yield client, adapters.uow.engine


async def sign_up(client: AsyncTestClient[Any], email: str) -> tuple[int, str]:
    client.cookies.clear()
    answer = await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    return answer.status_code, answer.json().get("error", {}).get("code", "")


async def test_a_sign_up_during_a_lost_sqlite_database_is_503(tmp_path: Path) -> None:
    home = tmp_path / "db"
    home.mkdir()
    url = f"sqlite+aiosqlite:///{home / 'cutout.db'}"
    await migrated(url)
    async with app_on(url, tmp_path) as (client, engine):
        assert await sign_up(client, "before@example.com") == (201, "")
        shutil.rmtree(home)
        client.blocking_portal.call(engine.dispose)  # pooled connections would go on writing to the removed file
        assert await sign_up(client, "after@example.com") == (503, "storage_unavailable")
        assert await sign_up(client, "before@example.com") == (503, "storage_unavailable")  # not email_taken


@pytest.mark.mysql
async def test_a_sign_up_during_a_lost_mariadb_server_is_503(tmp_path: Path, mysql_database: str) -> None:
    await migrated(mysql_database)
    server = make_url(MYSQL_URL)
    with CuttableProxy(server.host or "127.0.0.1", server.port or 3306) as proxy:
        url = make_url(mysql_database).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        async with app_on(url, tmp_path) as (client, _engine):
            assert await sign_up(client, "before@example.com") == (201, "")
            proxy.cut()
            assert await sign_up(client, "after@example.com") == (503, "storage_unavailable")
            assert await sign_up(client, "before@example.com") == (503, "storage_unavailable")  # not email_taken
            proxy.resume()
            assert await sign_up(client, "after@example.com") == (201, "")
            assert await sign_up(client, "before@example.com") == (409, "email_taken")
