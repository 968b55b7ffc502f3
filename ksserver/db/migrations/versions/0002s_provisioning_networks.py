"""Provisioning/discovery flags on networks; admin tokens.

Revision ID: 0002s
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002s"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subnets") as batch:
        batch.add_column(sa.Column("provisioning", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("discovery", sa.Boolean(), nullable=False, server_default=sa.false()))
    # The stock private network is the install network (Rocks' only one); public, the site LAN, is not.
    op.execute("UPDATE subnets SET provisioning = TRUE WHERE name = 'private'")
    op.create_table("admin_tokens",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("name", sa.String(length=64), nullable=False),
                    sa.Column("token_hash", sa.String(length=128), nullable=False),
                    sa.Column("created_at", sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("name"), sa.UniqueConstraint("token_hash"))


def downgrade() -> None:
    op.drop_table("admin_tokens")
    with op.batch_alter_table("subnets") as batch:
        batch.drop_column("discovery")
        batch.drop_column("provisioning")
