"""``rocks init``: create or upgrade the schema and add the stock rows (idempotent)."""

from __future__ import annotations

import os
from pathlib import Path

from ksserver.inventory import admin, defaults
from ksserver.services import Cluster

ADMIN_TOKEN_NAME = "admin"


def admin_token_path(cluster: Cluster) -> Path:
    return cluster.settings.root / "admin-token"


def initialize(cluster: Cluster) -> dict[str, str]:
    """Returns what was generated on first use (``root_password``, shown once; ``admin_token_file``)."""
    from ksserver.db import migrate  # alembic is slow to import; only init needs it

    secure_state_dir(cluster.settings.root)
    migrate.upgrade(cluster.db.engine)
    with cluster.db.session(write=True) as session:
        created = dict(defaults.initialize(session))
        path = admin_token_path(cluster)
        if not admin.has_token(session, ADMIN_TOKEN_NAME) or not path.exists():
            token = admin.create_token(session, ADMIN_TOKEN_NAME)
            _write_private(path, token + "\n")
            created["admin_token_file"] = str(path)
    return created


def secure_state_dir(root: Path) -> None:
    """The state directory holds the database and the admin token: only its owner may enter it."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
