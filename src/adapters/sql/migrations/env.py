"""Alembic environment. ``adapters.sql.migrate`` hands in an open connection, so Alembic never
starts an event loop of its own (its generated env.py would call ``asyncio.run``)."""

from alembic import context

from adapters.sql.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
