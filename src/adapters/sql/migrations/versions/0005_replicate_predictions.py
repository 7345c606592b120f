"""Replicate predictions delivered by webhook, shared by every server process.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from adapters.sql.models import Timestamp

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replicate_predictions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("prediction", sa.JSON(), nullable=False),
        sa.Column("received_at", Timestamp(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replicate_predictions")),
    )
    op.create_index(op.f("ix_replicate_predictions_received_at"), "replicate_predictions", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_replicate_predictions_received_at"), table_name="replicate_predictions")
    op.drop_table("replicate_predictions")
