"""Accounts, API tokens, browser sessions and the audit log for the REST API and web console.

Revision ID: webapi
Revises: 0002s
"""

import sqlalchemy as sa
from alembic import op

revision = "webapi"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("users",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("name", sa.String(length=64), nullable=False),
                    sa.Column("role", sa.String(length=16), nullable=False),
                    sa.Column("password_hash", sa.String(length=256), nullable=False),
                    sa.Column("created_at", sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("name"))
    op.create_table("user_tokens",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("user_id", sa.Integer(), nullable=False),
                    sa.Column("label", sa.String(length=64), nullable=False),
                    sa.Column("token_hash", sa.String(length=128), nullable=False),
                    sa.Column("created_at", sa.Float(), nullable=False),
                    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("token_hash"))
    op.create_index("ix_user_tokens_user_id", "user_tokens", ["user_id"])
    op.create_table("web_sessions",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("session_hash", sa.String(length=128), nullable=False),
                    sa.Column("user_id", sa.Integer(), nullable=False),
                    sa.Column("csrf", sa.String(length=128), nullable=False),
                    sa.Column("expires_at", sa.Float(), nullable=False),
                    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("session_hash"))
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table("audit_log",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("at", sa.Float(), nullable=False),
                    sa.Column("actor", sa.String(length=128), nullable=False),
                    sa.Column("action", sa.String(length=128), nullable=False),
                    sa.Column("target", sa.Text(), nullable=False),
                    sa.Column("detail", sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("web_sessions")
    op.drop_table("user_tokens")
    op.drop_table("users")
