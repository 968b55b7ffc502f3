"""Contract of the host, interface and boot operations (the REST API will inherit these)."""

from __future__ import annotations

import json

import pytest

from ksserver.errors import AlreadyExists, HostNotFound, InvalidArgument, NotFound
from ksserver.inventory.hosts import HostRequest
from ksserver.pxe import hex_ip
from ksserver.services import boot, hosts, interfaces
from ksserver.services.boot import BootActionRequest
from ksserver.services.interfaces import InterfaceRequest


def pxe(svc, ip):
    return svc.settings.tftp_dir / "pxelinux.cfg" / hex_ip(ip)


def ipxe(svc, mac):
    return svc.settings.tftp_dir / "ipxe" / (mac.replace(":", "-") + ".ipxe")


def test_add_list_set_remove_host(svc):
    added = hosts.add_host(svc, HostRequest(name="compute-1-4", mac="52:54:00:01:04:00"))
    assert added.name == "compute-1-4" and added.ip
    row = {h.name: h for h in hosts.list_hosts(svc, [])}["compute-1-4"]
    assert (row.membership, row.rack, row.rank, row.os, row.arch) == ("Compute", 1, 4, "linux", "x86_64")
    hosts.set_hosts_field(svc, ["compute-1-4"], "cpus", "8")
    assert hosts.list_hosts(svc, ["compute-1-4"])[0].cpus == 8
    with pytest.raises(AlreadyExists):
        hosts.add_host(svc, HostRequest(name="compute-1-4"))
    hosts.remove_hosts(svc, ["compute-1-4"])
    with pytest.raises(HostNotFound):
        hosts.list_hosts(svc, ["compute-1-4"])


def test_remove_hosts_checks_every_name_first(svc):
    with pytest.raises(HostNotFound):
        hosts.remove_hosts(svc, ["compute-0-0", "nosuch"])
    assert hosts.list_hosts(svc, ["compute-0-0"])  # nothing was removed


@pytest.mark.parametrize("field,value", [("os", "BAD OS!"), ("arch", "x 86"), ("cpus", "0"), ("name", "a_b"),
                                         ("mac", "ff:ff:ff:ff:ff:ff"), ("mac", "01:00:5e:00:00:01"),
                                         ("ip", "10.1.2.300"), ("iface", "eth 0")])
def test_single_and_bulk_add_share_the_rules(svc, tmp_path, field, value):
    row = {"name": "compute-5-5", "mac": "52:54:00:05:05:05", field: value}
    with pytest.raises(InvalidArgument):
        hosts.add_host(svc, HostRequest.from_row(row) if field == "cpus" else HostRequest(**row))
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps([row]))
    with pytest.raises(InvalidArgument):
        hosts.add_hosts_from_file(svc, path)
    assert "compute-5-5" not in {h.name for h in hosts.list_hosts(svc, [])}


def test_set_host_os_follows_the_same_rule_as_add(svc):
    with pytest.raises(InvalidArgument):
        hosts.set_hosts_field(svc, ["compute-0-0"], "os", "BAD OS!")
    with pytest.raises(InvalidArgument):
        hosts.set_hosts_field(svc, ["compute-0-0"], "os", "Linux")  # add refuses upper case too
    hosts.set_hosts_field(svc, ["compute-0-0"], "os", "sunos")


@pytest.mark.parametrize("mac", ["ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01", "00:00:00:00:00:00"])
def test_group_and_null_macs_are_refused_everywhere(svc, mac):
    with pytest.raises(InvalidArgument):
        hosts.add_host(svc, HostRequest(name="compute-6-6", mac=mac))
    with pytest.raises(InvalidArgument):
        interfaces.add_interface(svc, InterfaceRequest("compute-0-0", "eth1", mac=mac))
    with pytest.raises(InvalidArgument):
        interfaces.set_interface_field(svc, "compute-0-0", "eth0", "mac", mac)


def test_changing_installaction_rewrites_pxe_file(svc):
    boot.add_bootaction(svc, BootActionRequest("install headless", "vmlinuz-h", "initrd-h.img", "inst.text headless"))
    boot.set_boot(svc, ["compute-0-0"], "install")
    ip = interfaces.list_interfaces(svc, ["compute-0-0"])[0].ip
    before = pxe(svc, ip).read_text()
    hosts.set_hosts_field(svc, ["compute-0-0"], "installaction", "install headless")
    after = pxe(svc, ip).read_text()
    assert "headless" in after and "vmlinuz-h" in after and after != before
    assert "headless" not in before


def test_changing_a_bootaction_rewrites_its_users(svc):
    boot.set_boot(svc, ["compute-0-0"], "install")
    ip = interfaces.list_interfaces(svc, ["compute-0-0"])[0].ip
    assert boot.add_bootaction(svc, BootActionRequest("install", "vmlinuz-new", "initrd-new.img", "x=1")) >= 1
    assert "vmlinuz-new" in pxe(svc, ip).read_text()


def test_removing_an_interface_removes_its_pxe_files(svc):
    boot.set_boot(svc, ["compute-0-1"], "install")
    iface = interfaces.list_interfaces(svc, ["compute-0-1"])[0]
    assert pxe(svc, iface.ip).exists() and ipxe(svc, iface.mac).exists()
    interfaces.remove_interface(svc, "compute-0-1", "eth0")
    assert not pxe(svc, iface.ip).exists() and not ipxe(svc, iface.mac).exists()
    with pytest.raises(NotFound):
        interfaces.remove_interface(svc, "compute-0-1", "eth0")


def test_removing_a_host_removes_its_pxe_files(svc):
    boot.set_boot(svc, ["compute-0-1"], "install")
    iface = interfaces.list_interfaces(svc, ["compute-0-1"])[0]
    hosts.remove_hosts(svc, ["compute-0-1"])
    assert not pxe(svc, iface.ip).exists() and not ipxe(svc, iface.mac).exists()


def test_sync_rewrites_lost_pxe_files(svc):
    boot.set_boot(svc, ["compute-0-0"], "os")
    ip = interfaces.list_interfaces(svc, ["compute-0-0"])[0].ip
    pxe(svc, ip).unlink()
    assert boot.sync_boot_files(svc, []) >= 1
    assert pxe(svc, ip).exists()


def test_unwritable_tftp_dir_is_reported_after_commit(svc):
    svc.settings.tftp_dir.parent.mkdir(parents=True, exist_ok=True)
    svc.settings.tftp_dir.write_text("not a directory")
    from ksserver.errors import FilesNotWritten

    with pytest.raises(FilesNotWritten, match="sync host boot"):
        boot.set_boot(svc, ["compute-0-0"], "install")
    assert boot.list_boot(svc, ["compute-0-0"])[0].action == "install"  # the database is the truth


def test_boot_rejects_unknown_state(svc):
    with pytest.raises(InvalidArgument):
        boot.set_boot(svc, ["compute-0-0"], "dance")
    with pytest.raises(InvalidArgument):
        boot.set_boot(svc, [], "install")
