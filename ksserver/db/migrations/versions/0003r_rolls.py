"""Rolls: folders of node and graph files layered between the stock files and the site profile.

Revision ID: 0003r
Revises: 0002s
"""

import sqlalchemy as sa
from alembic import op

revision = "0003r"
down_revision = "0002s"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("rolls",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("name", sa.String(length=64), nullable=False),
                    sa.Column("path", sa.String(length=1024), nullable=False),
                    sa.Column("graphs", sa.String(length=16), nullable=False),
                    sa.Column("version", sa.String(length=16), nullable=False),
                    sa.Column("enabled", sa.Boolean(), nullable=False),
                    sa.Column("position", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("name"))


def downgrade() -> None:
    op.drop_table("rolls")
