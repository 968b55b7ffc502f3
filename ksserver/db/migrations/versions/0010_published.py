"""Published trees in the database: the files of each ``rocks-dist dist`` (generation and build tree,
plugin bundle) so every instance writes the same files (ksserver.published).

Revision ID: published
Revises: builds
"""

import sqlalchemy as sa
from alembic import op

revision = "published"
down_revision = "builds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("published_trees",
                    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column("generation_id", sa.Integer(), nullable=False),
                    sa.Column("digest", sa.String(length=64), nullable=False),
                    sa.Column("arch", sa.String(length=16), nullable=False),
                    sa.Column("tree", sa.String(length=128), nullable=False),
                    sa.ForeignKeyConstraint(["generation_id"], ["generations.id"],
                                            name=op.f("fk_published_trees_generation_id_generations")),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_published_trees")),
                    sa.UniqueConstraint("generation_id", name=op.f("uq_published_trees_generation_id")))
    op.create_table("published_files",
                    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column("tree_id", sa.Integer(), nullable=False),
                    sa.Column("part", sa.String(length=16), nullable=False),
                    sa.Column("relpath", sa.String(length=512), nullable=False),
                    sa.Column("sha256", sa.String(length=64), nullable=False),
                    sa.Column("mode", sa.Integer(), nullable=False),
                    sa.Column("size", sa.BigInteger(), nullable=False),
                    sa.ForeignKeyConstraint(["tree_id"], ["published_trees.id"],
                                            name=op.f("fk_published_files_tree_id_published_trees")),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_published_files")))
    op.create_index(op.f("ix_published_files_tree_id"), "published_files", ["tree_id"])
    op.create_table("published_blobs",
                    sa.Column("sha256", sa.String(length=64), nullable=False),
                    sa.Column("data", sa.LargeBinary(), nullable=False),
                    sa.PrimaryKeyConstraint("sha256", name=op.f("pk_published_blobs")))


def downgrade() -> None:
    op.drop_table("published_blobs")
    op.drop_index(op.f("ix_published_files_tree_id"), table_name="published_files")
    op.drop_table("published_files")
    op.drop_table("published_trees")
