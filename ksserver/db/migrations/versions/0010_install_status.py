"""Install status per host: last reported stage and its times (issue #12).

Revision ID: install_status
Revises: 0002s
"""

import sqlalchemy as sa
from alembic import op

revision = "install_status"
down_revision = "webapi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("install_status",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("host_id", sa.Integer(), nullable=False),
                    sa.Column("stage", sa.String(length=16), nullable=False),
                    sa.Column("started_at", sa.Double(), nullable=False),
                    sa.Column("updated_at", sa.Double(), nullable=False),
                    sa.Column("finished_at", sa.Double(), nullable=False),
                    sa.Column("log", sa.Text(), nullable=False),
                    sa.ForeignKeyConstraint(["host_id"], ["hosts.id"],
                                            name=op.f("fk_install_status_host_id_hosts"), ondelete="CASCADE"),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_install_status")),
                    sa.UniqueConstraint("host_id", name=op.f("uq_install_status_host_id")))


def downgrade() -> None:
    op.drop_table("install_status")
