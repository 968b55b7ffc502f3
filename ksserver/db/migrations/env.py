"""Alembic environment: the connection is handed in by ksserver.db.migrate (no alembic.ini)."""

from alembic import context

from ksserver.db.base import Base
from ksserver.db import models  # noqa: F401  (registers the tables on Base.metadata)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
