"""Fixtures for the REST API and console: the app on the test cluster, accounts and their tokens."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from ksserver.services import Cluster, accounts, attrs, partitions, vms
from ksserver.services.partitions import PartitionSpec
from ksserver.services.vms import VmRequest
from ksserver.web import create_app


@dataclass
class Accounts:
    admin: str          # API token of user alice (admin)
    reader: str         # API token of user rita (readonly)
    init_token: str     # the admin token `rocks init` wrote


@pytest.fixture
def web_app(cluster, settings):
    settings = dataclasses.replace(settings, reload_interval=0.0)
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["ksserver"].db.dispose()


@pytest.fixture
def web_cluster(web_app) -> Cluster:
    return web_app.extensions["ksserver"].cluster


@pytest.fixture
def tokens(web_cluster: Cluster, settings) -> Accounts:
    accounts.add_user(web_cluster, "alice", "admin", "alice-password")
    accounts.add_user(web_cluster, "rita", "readonly", "rita-password")
    return Accounts(accounts.add_user_token(web_cluster, "alice"), accounts.add_user_token(web_cluster, "rita"),
                    (settings.root / "admin-token").read_text().strip())


@pytest.fixture
def vm_app(web_app, web_cluster, hypervisors, tmp_path):
    """A VM compute-0-0-0 (not yet started) on vm-container-0-0, a libvirt test-driver container shared
    by every request; yields (app, VM name, container URI)."""
    web_cluster.hypervisor_factory = hypervisors  # one test-driver state for every request
    node = tmp_path / "container.xml"
    node.write_text("<node/>\n")
    for attr, value in (("libvirt_uri", f"test://{node}"), ("libvirt_domain_type", "test"),
                        ("vm_nic_kind", "user")):
        attrs.set_attr(web_cluster, "host", ["vm-container-0-0"], attr, value)
    data = tmp_path / "state" / "partition1"
    (data / "kvm" / "disks").mkdir(parents=True)
    spec = PartitionSpec("sda5", str(data), "900GB", "ext4")
    partitions.add_partition(web_cluster, "vm-container-0-0", spec)
    _, _, name = vms.add_vm(web_cluster, VmRequest(container="vm-container-0-0", membership="Compute"))
    yield web_app, name, f"test://{node}"
    consoles = getattr(web_app.extensions["ksserver"], "consoles", None)
    if consoles is not None:
        consoles.close()


@pytest.fixture
def admin(web_app, tokens):  # type: ignore[no-untyped-def]
    """A console session of the admin 'alice'."""
    from tests.web.consoleclient import login

    client = web_app.test_client()
    assert login(client, "alice", "alice-password").status_code == 303
    return client


@pytest.fixture
def reader(web_app, tokens):  # type: ignore[no-untyped-def]
    """A console session of the read-only 'rita'."""
    from tests.web.consoleclient import login

    client = web_app.test_client()
    assert login(client, "rita", "rita-password").status_code == 303
    return client
