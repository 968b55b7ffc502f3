"""Partitioning: typed partition fields from installer reports, and per-host partitioning state.

Revision ID: partitioning
Revises: 0002 (the integrator re-chains; the brief asked for 0002s, which would make two heads here)
"""

import sqlalchemy as sa
from alembic import op

revision = "partitioning"
down_revision = "install_status"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("disk", sa.String(length=64), "''"),
    ("start_sector", sa.BigInteger(), "0"),
    ("size_sector", sa.BigInteger(), "0"),
    ("sector_size", sa.Integer(), "512"),
    ("part_type", sa.String(length=16), "''"),
    ("level", sa.String(length=8), "''"),
    ("members", sa.String(length=1024), "''"),
)


def upgrade() -> None:
    with op.batch_alter_table("partitions") as batch:
        for name, type_, default in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=False, server_default=sa.text(default)))
    op.create_table("host_partitioning",
                    sa.Column("host_id", sa.Integer(), nullable=False),
                    sa.Column("reset", sa.Boolean(), nullable=False),
                    sa.Column("report", sa.Text(), nullable=False),
                    sa.Column("reported_at", sa.Float(), nullable=False),
                    sa.Column("plan", sa.Text(), nullable=False),
                    sa.Column("plan_text", sa.Text(), nullable=False),
                    sa.Column("plan_at", sa.Float(), nullable=False),
                    sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], ondelete="CASCADE"),
                    sa.PrimaryKeyConstraint("host_id"))


def downgrade() -> None:
    op.drop_table("host_partitioning")
    with op.batch_alter_table("partitions") as batch:
        for name, _type, _default in reversed(_COLUMNS):
            batch.drop_column(name)
