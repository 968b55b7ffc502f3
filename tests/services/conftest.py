"""Service-layer fixtures: a ``Cluster`` on SQLite and a real PostgreSQL (``db_url`` is parametrized),
initialised as ``rocks init`` does, with the demo hosts."""

from __future__ import annotations

import pytest

from ksserver.db.session import Database
from ksserver.inventory.hosts import HostRequest
from ksserver.services import Cluster, hosts, setup
from tests.cli.conftest import libvirt_cache_home, libvirtd_factory  # noqa: F401


@pytest.fixture
def svc(settings, hypervisors):
    settings.root.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(settings.effective_database_url)
    cluster = Cluster(settings, db, hypervisors)
    setup.initialize(cluster)
    for req in (HostRequest(name="frontend", membership="Frontend", ip="10.1.1.1", mac="52:54:00:00:00:01"),
                HostRequest(name="compute-0-0", mac="52:54:00:00:01:00"),
                HostRequest(name="compute-0-1", mac="52:54:00:00:01:01"),
                HostRequest(name="vm-container-0-0", mac="52:54:00:00:02:00")):
        hosts.add_host(cluster, req)
    yield cluster
    db.dispose()
