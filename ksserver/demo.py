"""A small demo cluster for ``make run``: a frontend, two compute nodes and a VM container.

Idempotent: hosts that already exist are left alone.  ``python -m ksserver.demo``.
"""

from __future__ import annotations

import sys

from ksserver.config import load_settings
from ksserver.db.session import Database
from ksserver.inventory.hosts import HostRequest
from ksserver.services import Cluster, hosts

DEMO_HOSTS = [
    HostRequest(name="frontend", membership="Frontend", ip="10.1.1.1", mac="52:54:00:00:00:01", cpus=2),
    HostRequest(name="compute-0-0", ip="auto", mac="52:54:00:00:01:00", cpus=2),
    HostRequest(name="compute-0-1", ip="auto", mac="52:54:00:00:01:01", cpus=2),
    HostRequest(name="vm-container-0-0", ip="auto", mac="52:54:00:00:02:00", cpus=4),
]


def create_demo(cluster: Cluster) -> list[str]:
    existing = {h.name for h in hosts.list_hosts(cluster, [])}
    return [hosts.add_host(cluster, req).name for req in DEMO_HOSTS if req.name not in existing]


def main() -> None:
    settings = load_settings()
    db = Database.from_url(settings.effective_database_url)
    added = create_demo(Cluster(settings, db))
    print("demo cluster: " + (", ".join(added) + " added" if added else "already present"))
    db.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
