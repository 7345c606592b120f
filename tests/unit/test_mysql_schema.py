"""The schema compiles for MySQL: every string has a length and times keep their microseconds."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.dialects import mysql
from sqlalchemy.schema import CreateIndex, CreateTable

from adapters.sql.models import Base


def test_every_table_compiles_for_mysql() -> None:
    dialect = mysql.dialect()
    ddl = {table.name: str(CreateTable(table).compile(dialect=dialect)) for table in Base.metadata.sorted_tables}
    assert set(ddl) == {
        "users",
        "api_keys",
        "sessions",
        "credit_accounts",
        "ledger_entries",
        "jobs",
        "rate_limit_hits",
        "login_attempts",
        "webhook_deliveries",
        "contact_messages",
        "replicate_predictions",
    }
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            assert str(CreateIndex(index).compile(dialect=dialect))
    assert "VARCHAR(254) COLLATE utf8mb4_bin" in ddl["users"] and "BINARY(16)" in ddl["users"]
    assert "idempotency_key VARCHAR(255) COLLATE utf8mb4_bin" in ddl["jobs"]
    assert "DATETIME(6)" in ddl["ledger_entries"]
    assert "CHECK (balance >= 0)" in ddl["credit_accounts"]
    assert "UNIQUE (kind, reference)" in ddl["ledger_entries"]


def test_no_string_column_without_a_length() -> None:
    unbounded = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String) and not column.type.length
    ]
    assert unbounded == []
