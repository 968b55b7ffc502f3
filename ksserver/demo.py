"""A small demo cluster for ``make run``: a frontend, two compute nodes and a VM container.

Idempotent: hosts that already exist are left alone.  ``python -m ksserver.demo``.
"""

from __future__ import annotations

import sys

from ksserver.config import load_settings
from ksserver.db.session import Database
from ksserver.inventory.hosts import HostRequest
from ksserver.services import Cluster, hosts, interfaces, networks
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


def main() -> None:
    settings = load_settings()
    db = Database.from_url(settings.effective_database_url)
    added = create_demo(Cluster(settings, db))
    print("demo cluster: " + (", ".join(added) + " added" if added else "already present"))
    db.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
