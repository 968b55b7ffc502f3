"""A small demo cluster for ``make run``: a frontend, two compute nodes and a VM container.

Idempotent: hosts that already exist are left alone.  ``python -m ksserver.demo``.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from ksserver.config import load_settings
from ksserver.db.session import Database
from ksserver.inventory.hosts import HostRequest
from ksserver.services import Cluster, accounts, hosts, interfaces, networks
from ksserver.services.interfaces import InterfaceRequest
from ksserver.services.networks import NetworkRequest

DEMO_HOSTS = [
    HostRequest(name="frontend", membership="Frontend", ip="10.1.1.1", mac="52:54:00:00:00:01", cpus=2),
    HostRequest(name="compute-0-0", ip="auto", mac="52:54:00:00:01:00", cpus=2),
    HostRequest(name="compute-0-1", ip="auto", mac="52:54:00:00:01:01", cpus=2),
    HostRequest(name="vm-container-0-0", ip="auto", mac="52:54:00:00:02:00", cpus=4),
]


# A provisioning network of loopback addresses, so that `curl --interface 127.0.100.10` on this machine
# stands in for compute-0-0 fetching its kickstart from its own address (loopback itself has no rights).
DEMO_NETWORK = NetworkRequest("demo-loopback", "127.0.100.0", "255.255.255.0", provisioning=True)
DEMO_IFACE = InterfaceRequest("compute-0-0", "eth1", ip="127.0.100.10", subnet="demo-loopback")


def create_demo(cluster: Cluster) -> list[str]:
    existing = {h.name for h in hosts.list_hosts(cluster, [])}
    added = [hosts.add_host(cluster, req).name for req in DEMO_HOSTS if req.name not in existing]
    if DEMO_NETWORK.name not in {n.name for n in networks.list_networks(cluster, [])}:
        networks.add_network(cluster, DEMO_NETWORK)
        interfaces.add_interface(cluster, DEMO_IFACE)
    return added


DEMO_ADMIN = "admin"


def create_demo_admin(cluster: Cluster) -> tuple[str, Path]:
    """A first console/API admin with a random password kept in ``<root>/console-admin-password`` (0600,
    in the 0700 state dir): made once, then left alone.  Returns (user, password file)."""
    path = cluster.settings.root / "console-admin-password"
    if DEMO_ADMIN not in {u.name for u in accounts.list_users(cluster)}:
        password = secrets.token_urlsafe(12)
        accounts.add_user(cluster, DEMO_ADMIN, "admin", password)
        fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
    return DEMO_ADMIN, path


def main() -> None:
    settings = load_settings()
    db = Database.from_url(settings.effective_database_url)
    cluster = Cluster(settings, db)
    added = create_demo(cluster)
    print("demo cluster: " + (", ".join(added) + " added" if added else "already present"))
    user, path = create_demo_admin(cluster)
    password = path.read_text().strip() if path.exists() else "(set by you: rocks remove user admin to renew)"
    print(f"console login: user {user}, password {password} (kept in {path})")
    db.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
