"""Exact comparison of emails and Idempotency-Keys on MySQL/MariaDB, e-mails in their canonical
spelling, and login attempts shared by every server process.

MariaDB's default collation compares ``vïctim@`` equal to ``victim@`` and ``KEY`` to ``key``; the
binary collation makes the unique indexes agree with SQLite and with ``canonical_email``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from adapters.sql.models import Timestamp
from domain.users import MAX_EMAIL_LENGTH, canonical_email

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_log = logging.getLogger("alembic.runtime.migration")
_KEPT = "user %s keeps the e-mail %r: its canonical spelling %r is taken or too long, so it cannot log in"
_users = sa.table("users", sa.column("id"), sa.column("email", sa.String))  # ids pass through as stored


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        op.alter_column(
            "users",
            "email",
            existing_type=sa.String(254),
            type_=mysql.VARCHAR(254, collation="utf8mb4_bin"),
            existing_nullable=False,
        )
        op.alter_column(
            "jobs",
            "idempotency_key",
            existing_type=sa.String(255),
            type_=mysql.VARCHAR(255, collation="utf8mb4_bin"),
            existing_nullable=True,
        )
    _canonical_emails(bind)
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", Timestamp(timezone=True), nullable=False),
        sa.Column("locked_until", Timestamp(timezone=True), nullable=True),
        sa.Column("expires_at", Timestamp(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_expires_at"), "login_attempts", ["expires_at"])


def _canonical_emails(bind: sa.engine.Connection) -> None:
    """Stored addresses were only lower-cased: store the canonical spelling (NFKC, case-folded) that
    logins now look up, unless another account already holds it or it no longer fits the column. Such
    an account keeps its address and cannot log in until an operator changes it: the log names it."""
    rows = bind.execute(sa.select(_users.c.id, _users.c.email)).all()
    taken = {email for _, email in rows}
    for user_id, email in rows:
        canonical = canonical_email(email)
        if canonical == email:
            continue
        if canonical in taken or len(canonical) > MAX_EMAIL_LENGTH:
            _log.warning(_KEPT, user_id, email, canonical)
            continue
        bind.execute(sa.update(_users).where(_users.c.id == user_id).values(email=canonical))
        taken.add(canonical)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_attempts_expires_at"), table_name="login_attempts")
    op.drop_table("login_attempts")
    if op.get_bind().dialect.name == "mysql":
        op.alter_column("jobs", "idempotency_key", existing_type=sa.String(255), type_=sa.String(255))
        op.alter_column("users", "email", existing_type=sa.String(254), type_=sa.String(254), existing_nullable=False)
