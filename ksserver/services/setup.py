"""``rocks init``: create or upgrade the schema and add the stock rows (idempotent)."""

from __future__ import annotations

from ksserver.inventory import defaults
from ksserver.services import Cluster


def initialize(cluster: Cluster) -> dict[str, str]:
    """Returns what was generated on first use (e.g. ``root_password``, shown once)."""
    from ksserver.db import migrate  # alembic is slow to import; only init needs it

    migrate.upgrade(cluster.db.engine)
    with cluster.db.session(write=True) as session:
        return dict(defaults.initialize(session))
