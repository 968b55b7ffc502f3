"""Contract of attributes, networks, appliances, partitions and the installer operations."""

from __future__ import annotations

import json

import pytest

from ksserver.errors import AlreadyExists, Forbidden, InvalidArgument, NotFound
from ksserver.inventory.snapshot import InventorySnapshot
from ksserver.kickstarts import KickstartService
from ksserver.services import appliances, attrs, installer, networks, partitions
from ksserver.services.appliances import ApplianceRequest
from ksserver.services.attrs import PasswordRequest
from ksserver.services.installer import InstallerRequest, InstallerRuntime
from ksserver.services.networks import NetworkRequest
from ksserver.services.partitions import PartitionSpec


def test_attributes_at_every_scope_and_their_source(svc):
    attrs.set_attr(svc, "global", [], "site_tag", "g")
    attrs.set_attr(svc, "os", ["linux"], "site_tag", "o")
    attrs.set_attr(svc, "appliance", ["compute"], "site_tag", "a")
    rows = {r.target: r for r in attrs.host_attrs(svc, ["compute-0-0", "frontend"], "site_tag")}
    assert (rows["compute-0-0"].value, rows["compute-0-0"].source) == ("a", "appliance")
    assert (rows["frontend"].value, rows["frontend"].source) == ("o", "os")
    attrs.set_attr(svc, "host", ["compute-0-0"], "site_tag", "h")
    assert attrs.host_attrs(svc, ["compute-0-0"], "site_tag")[0].source == "host"
    attrs.remove_attr(svc, "host", ["compute-0-0"], "site_tag")
    assert attrs.host_attrs(svc, ["compute-0-0"], "site_tag")[0].value == "a"
    with pytest.raises(InvalidArgument):
        attrs.set_attr(svc, "global", [], "x", "line\nrootpw --plaintext evil")
    with pytest.raises(InvalidArgument):
        attrs.set_attr(svc, "os", [], "x", "y")
    assert ("", "site_tag", "g") in [(r.target, r.attr, r.value) for r in attrs.list_attrs(svc, "global", [])]


def test_root_password_policy(svc):
    with pytest.raises(InvalidArgument):
        attrs.set_root_password(svc, PasswordRequest(password="short"))
    with pytest.raises(InvalidArgument):
        attrs.set_root_password(svc, PasswordRequest(hash="plain"))
    with pytest.raises(InvalidArgument):
        attrs.set_root_password(svc, PasswordRequest())
    attrs.set_root_password(svc, PasswordRequest(password="correct horse"))
    stored = {r.attr: r.value for r in attrs.list_attrs(svc, "global", [], reveal=True)}["Kickstart_PrivateRootPassword"]
    assert stored.startswith("$6$") and "correct horse" not in stored


def test_networks_and_appliances(svc):
    networks.add_network(svc, NetworkRequest("ib", "10.9.0.0", "255.255.0.0", mtu="65520"))
    with pytest.raises(InvalidArgument):
        networks.add_network(svc, NetworkRequest("bad", "10.9.1.0", "255.255.0.0"))
    with pytest.raises(InvalidArgument):
        networks.add_network(svc, NetworkRequest("big", "10.8.0.0", "255.255.0.0", mtu="9"))
    with pytest.raises(InvalidArgument, match="overlaps"):  # an address must name one host
        networks.add_network(svc, NetworkRequest("ib2", "10.9.128.0", "255.255.128.0"))
    with pytest.raises(InvalidArgument, match="overlaps"):
        networks.add_network(svc, NetworkRequest("wide", "10.0.0.0", "255.0.0.0"))
    with pytest.raises(InvalidArgument, match="discovery"):
        networks.add_network(svc, NetworkRequest("dhcp", "10.7.0.0", "255.255.0.0", discovery=True))
    networks.set_network(svc, NetworkRequest("ib", mtu="2044"))
    assert {n.name: n.mtu for n in networks.list_networks(svc, [])}["ib"] == 2044
    assert appliances.add_appliance(svc, ApplianceRequest("gpu-node", node="compute")) == "Gpu Node"
    with pytest.raises(AlreadyExists):
        appliances.add_appliance(svc, ApplianceRequest("gpu-node"))
    with pytest.raises(InvalidArgument):
        appliances.add_appliance(svc, ApplianceRequest("tape", os="BAD OS"))
    assert ("Gpu Node", "gpu-node") in appliances.list_memberships(svc)


def test_partition_records(svc):
    partitions.add_partition(svc, "compute-0-0", PartitionSpec("sda5", "/state/partition1", "100GB", "ext4"))
    with pytest.raises(AlreadyExists):
        partitions.add_partition(svc, "compute-0-0", PartitionSpec("sda5", "/x", "1GB", "ext4"))
    with pytest.raises(InvalidArgument):
        partitions.add_partition(svc, "compute-0-0", PartitionSpec("../sda", "/", "1GB", "ext4"))
    assert [p.mountpoint for p in partitions.list_partitions(svc, ["compute-0-0"])] == ["/state/partition1"]
    with pytest.raises(NotFound):
        partitions.remove_partitions(svc, ["compute-0-0"], "/nothing")
    assert partitions.remove_partitions(svc, ["compute-0-0"]) == 1


@pytest.fixture
def runtime(svc):
    return InstallerRuntime(svc.db, InventorySnapshot(svc.db), KickstartService(svc.settings))


def _ip(svc, host):
    from ksserver.services import interfaces

    return interfaces.list_interfaces(svc, [host])[0].ip


def test_installer_kickstart_records_arch_and_cpus(svc, runtime):
    text = installer.kickstart(runtime, InstallerRequest(client_ip=_ip(svc, "compute-0-0")), arch="aarch64", np="16")
    assert "rootpw --iscrypted" in text
    from ksserver.services import hosts

    row = hosts.list_hosts(svc, ["compute-0-0"])[0]
    assert (row.arch, row.cpus) == ("aarch64", 16)


def test_installer_head_changes_nothing(svc, runtime):
    installer.kickstart(runtime, InstallerRequest(client_ip=_ip(svc, "compute-0-0")), np="7", record=False)
    from ksserver.services import hosts

    assert hosts.list_hosts(svc, ["compute-0-0"])[0].cpus == 1


def test_installer_partition_report_only_for_own_host(svc, runtime):
    report = json.dumps({"disks": {"sda": {"partitions": [
        {"device": "sda1", "mountpoint": "/", "start": 2048, "size": 33554432, "fstype": "ext4"}]}}})
    name, count = installer.report_partitions(runtime, InstallerRequest(client_ip=_ip(svc, "compute-0-1")), report)
    assert (name, count) == ("compute-0-1", 1)
    with pytest.raises(Forbidden):
        installer.report_partitions(runtime, InstallerRequest(client_ip="192.0.2.9"), report)
    with pytest.raises(InvalidArgument):
        installer.report_partitions(runtime, InstallerRequest(client_ip=_ip(svc, "compute-0-1")), '{"disks": 3}')
    assert [p.device for p in partitions.list_partitions(svc, ["compute-0-1"])] == ["sda1"]
