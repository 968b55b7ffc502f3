"""Build jobs: ``rocks-dist dist`` started from the REST API or the console, state shared by every worker.

Revision ID: builds
Revises: webapi
"""

import sqlalchemy as sa
from alembic import op

revision = "builds"
down_revision = "partitioning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("builds",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("state", sa.String(length=16), nullable=False),
                    sa.Column("arch", sa.String(length=16), nullable=False),
                    sa.Column("requested_by", sa.String(length=128), nullable=False),
                    sa.Column("worker", sa.String(length=256), nullable=False),
                    sa.Column("progress", sa.Text(), nullable=False),
                    sa.Column("percent", sa.Integer(), nullable=False),
                    sa.Column("created_at", sa.Float(), nullable=False),
                    sa.Column("started_at", sa.Float(), nullable=False),
                    sa.Column("finished_at", sa.Float(), nullable=False),
                    sa.Column("generation", sa.String(length=64), nullable=False),
                    sa.Column("hosts", sa.Integer(), nullable=False),
                    sa.Column("error", sa.Text(), nullable=False),
                    sa.Column("failures", sa.Text(), nullable=False),
                    sa.Column("warnings", sa.Text(), nullable=False),
                    sa.Column("undefined", sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_builds_state", "builds", ["state"])


def downgrade() -> None:
    op.drop_index("ix_builds_state", table_name="builds")
    op.drop_table("builds")
