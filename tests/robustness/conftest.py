"""Fixtures of the robustness suite."""

from contract.conftest import mysql_database  # noqa: F401 - the per-module MariaDB database of the contract tests
