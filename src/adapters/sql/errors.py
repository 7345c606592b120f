"""The one translation of database errors into domain errors.

It is an engine event (``handle_error``), so it sees every statement an engine of ours runs: the unit
of work's flushes, queries and commits, the rate limiter, the login throttle, the prediction inbox,
readiness and migrations. A violation of a known unique constraint becomes its business error; a
failure of the database itself (a dropped connection, a lost server, a lock or busy timeout, a full
disk) becomes ``StorageUnavailable``, never an integrity error. A fault of our own SQL (another
constraint, a bad statement, an unknown table or column) stays SQLAlchemy's error: a bug, answered as a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import UniqueConstraint, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import IntegrityError, InterfaceError, InternalError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.models import Base
from domain.errors import AlreadyPosted, DomainError, EmailTaken, IdempotencyKeyTaken, StorageUnavailable

_DUPLICATES: dict[str, Callable[[Mapping[str, Any]], DomainError]] = {
    "uq_users_email": lambda _row: EmailTaken(field="email"),
    "uq_ledger_entries_kind_reference": lambda row: AlreadyPosted(kind=row.get("kind"), reference=row.get("reference")),
    "uq_jobs_user_idempotency_key": lambda _row: IdempotencyKeyTaken(field="Idempotency-Key"),
}
"""The unique constraints a use case expects to hit, by name, and the error each one means."""

_UNIQUE_BY_COLUMNS = {
    tuple(f"{table.name}.{column.name}" for column in constraint.columns): str(constraint.name)
    for table in Base.metadata.sorted_tables
    for constraint in table.constraints
    if isinstance(constraint, UniqueConstraint)
}
"""Each unique constraint by the columns SQLite names, ``("users.email",)``."""

# What says the database itself is out of reach or overloaded, as opposed to a statement of ours that
# is wrong (SQLite reports "no such table" and syntax errors as OperationalError too, PyMySQL an unknown
# column): MySQL/MariaDB error numbers, and SQLite's primary result codes.
_MYSQL_UNAVAILABLE = {
    1040,  # too many connections
    1049,  # unknown database
    1053,  # server shutdown in progress
    1205,  # lock wait timeout
    1213,  # deadlock: the transaction was rolled back, a retry can succeed
    1927,  # connection killed
    2002, 2003, 2006, 2013, 2055,  # cannot connect, server gone, lost during a query
}  # fmt: skip
_SQLITE_UNAVAILABLE = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL",
                       "SQLITE_READONLY", "SQLITE_NOMEM")  # fmt: skip

# SQLite names the columns ("UNIQUE constraint failed: users.email"), MySQL/MariaDB the index
# ("Duplicate entry 'x' for key 'uq_users_email'", MySQL 8: 'users.uq_users_email').
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>.+)$")
_MYSQL_UNIQUE = re.compile(r"Duplicate entry .* for key '(?:[^']*\.)?(?P<name>[^']+)'")
_MYSQL_DUPLICATE_ENTRY = 1062


def translate_errors(engine: AsyncEngine) -> None:
    """Install the translation on ``engine``."""
    event.listen(engine.sync_engine, "handle_error", _translated)


def _translated(context: ExceptionContext) -> BaseException | None:
    error = context.sqlalchemy_exception
    if context.is_pre_ping or error is None:  # a failed pre-ping makes the pool connect afresh
        return None
    if isinstance(error, IntegrityError):
        duplicate = _DUPLICATES.get(_unique_constraint(error) or "")
        return duplicate(_row(context)) if duplicate else None
    if context.is_disconnect or isinstance(error, InterfaceError) or _database_unavailable(error):
        return StorageUnavailable()
    return None


def _database_unavailable(error: BaseException) -> bool:
    if not isinstance(error, OperationalError | InternalError):
        return False
    args: tuple[Any, ...] = getattr(error.orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_UNAVAILABLE
    name = str(getattr(error.orig, "sqlite_errorname", ""))
    return name.startswith(_SQLITE_UNAVAILABLE)


def _unique_constraint(error: IntegrityError) -> str | None:
    args: tuple[Any, ...] = getattr(error.orig, "args", ())
    if len(args) == 2 and args[0] == _MYSQL_DUPLICATE_ENTRY and (found := _MYSQL_UNIQUE.search(str(args[1]))):
        return found["name"]
    if found := _SQLITE_UNIQUE.search(str(error.orig)):
        return _UNIQUE_BY_COLUMNS.get(tuple(column.strip() for column in found["columns"].split(",")))
    return None


def _row(context: ExceptionContext) -> Mapping[str, Any]:
    """The values of the row whose insert failed, by column (a single-row insert, as ours are)."""
    compiled: list[Mapping[str, Any]] = getattr(context.execution_context, "compiled_parameters", [])
    return compiled[0] if len(compiled) == 1 else {}
