"""What a ``rocks`` command gets besides its arguments: settings, streams and the cluster."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ksserver.config import Settings
from ksserver.db.session import Database
from ksserver.errors import DatabaseError
from ksserver.services import Cluster, HypervisorFactory


@dataclass
class Context:
    settings: Settings
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    hypervisor_factory: HypervisorFactory | None = None  # tests inject libvirt connections
    create: bool = False                                 # only 'rocks init' may create the database
    _cluster: Cluster | None = None
    shared: bool = False                                 # the cluster is the server's: close() leaves it open

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            self._cluster = Cluster(self.settings, self._open_db(), self.hypervisor_factory)
        return self._cluster

    def _open_db(self) -> Database:
        url = self.settings.effective_database_url
        if url.startswith("sqlite:///") and not self.create:
            path = Path(url[len("sqlite:///"):])
            if not path.exists():
                # A read-only command must not leave an empty database (and state dir) behind.
                raise DatabaseError(f"no cluster database at {path} (KSSERVER_ROOT={self.settings.root}): "
                                    f"run 'rocks init' first")
        return Database.from_url(url)

    def close(self) -> None:
        if self._cluster is not None and not self.shared:
            self._cluster.db.dispose()
