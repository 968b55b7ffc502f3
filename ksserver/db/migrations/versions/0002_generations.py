"""generations: the published, validated node/graph generation

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0003r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('generations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('arch', sa.String(length=16), nullable=False),
    sa.Column('published_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generations'))
    )


def downgrade() -> None:
    op.drop_table('generations')
