"""The job queue: asynchronous jobs with blobs, idempotency keys and callbacks; webhook secrets.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

from adapters.sql.models import Timestamp

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_JOB_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("available_at", Timestamp(timezone=True)),
    ("worker_id", sa.String(length=64)),
    ("input_key", sa.String(length=200)),
    ("result_key", sa.String(length=200)),
    ("result_media_type", sa.String(length=32)),
    ("result_width", sa.Integer()),
    ("result_height", sa.Integer()),
    ("idempotency_key", sa.String(length=255)),
    ("fingerprint", sa.String(length=64)),
    ("callback_url", sa.String(length=2000)),
]


def upgrade() -> None:
    op.add_column("users", sa.Column("webhook_secret", sa.String(length=64), nullable=True))
    # Every job before this revision was a synchronous cut-out.
    op.add_column("jobs", sa.Column("sync", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("sync", server_default=None, existing_type=sa.Boolean(), existing_nullable=False)
        for name, type_ in _JOB_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.create_unique_constraint("uq_jobs_user_idempotency_key", ["user_id", "idempotency_key"])
    op.create_index("ix_jobs_status_available", "jobs", ["status", "available_at"])
    op.create_index("ix_jobs_user_created", "jobs", ["user_id", "created_at"])
    op.create_index("ix_jobs_created", "jobs", ["created_at"])
    op.drop_index(op.f("ix_jobs_user_id"), table_name="jobs")
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("job_id", GUID(length=16), nullable=False),
        sa.Column("user_id", GUID(length=16), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", Timestamp(timezone=True), nullable=False),
        sa.Column("delivered_at", Timestamp(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_webhook_deliveries_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_webhook_deliveries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("job_id", name=op.f("uq_webhook_deliveries_job_id")),
    )
    op.create_index("ix_webhook_deliveries_status_next", "webhook_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_status_next", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.create_index(op.f("ix_jobs_user_id"), "jobs", ["user_id"])
    op.drop_index("ix_jobs_created", table_name="jobs")
    op.drop_index("ix_jobs_user_created", table_name="jobs")
    op.drop_index("ix_jobs_status_available", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_user_idempotency_key", type_="unique")
        for name, _ in reversed(_JOB_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("sync")
    op.drop_column("users", "webhook_secret")
