"""``rocks list host`` / ``list host interface`` of all hosts, on a cluster of varied hosts (names and values
of different widths, a host without interfaces, one with several, a VM): the fast paths (plain tuples,
column-wise printers) print what the ORM rows through the per-cell printers printed, and the ``rocks``
client delegated to a real server prints the same bytes as the in-process CLI."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from ksserver.cli.context import Context
from ksserver.db.models import Host
from ksserver.inventory import interfaces as inventory_interfaces
from tests.cli.test_output import per_cell_json, per_cell_table
from tests.cli.test_rocks_client import db_url, rocks, served  # noqa: F401  (fixtures)

pytest.importorskip("libvirt", reason="libvirt-python not installed")

HOST_HEADERS = ["HOST", "MEMBERSHIP", "CPUS", "RACK", "RANK", "ARCH", "OS", "RUNACTION", "INSTALLACTION"]
IFACE_HEADERS = ["HOST", "SUBNET", "IFACE", "MAC", "IP", "NETMASK", "MODULE", "NAME", "VLAN"]
LISTINGS = [("list", "host"), ("list", "host", "interface"), ("list", "host", "attr", "attr=rack")]
FORMATS = [(), ("output-format=json",), ("output-format=table",)]


@pytest.fixture
def varied(cluster, tmp_path):  # type: ignore[no-untyped-def]
    node = tmp_path / "container.xml"
    node.write_text("<node/>\n")
    for attr, value in (("libvirt_uri", f"test://{node}"), ("libvirt_domain_type", "test"),
                        ("vm_nic_kind", "user")):
        assert cluster("set", "host", "attr", "vm-container-0-0", attr, value).code == 0
    data = tmp_path / "state" / "partition1"
    (data / "kvm" / "disks").mkdir(parents=True)
    assert cluster("add", "host", "partition", "vm-container-0-0", "device=sda5", f"mountpoint={data}",
                   "size=900GB", "fstype=ext4").code == 0
    for argv in (("add", "host", "vm", "vm-container-0-0", "membership=Compute", "num-macs=2"),
                 ("add", "host", "compute-12-345", "cpus=128"),                      # no interface at all
                 ("add", "host", "compute-3-7", "mac=52:54:00:00:03:07", "arch=aarch64"),
                 ("add", "host", "interface", "compute-3-7", "eth1", "mac=52:54:00:00:13:07",
                  "module=virtio_net", "vlan=4094", "name=c37-storage"),
                 ("add", "host", "interface", "compute-3-7", "ib0"),                  # no MAC, IP or network
                 ("set", "host", "runaction", "compute-0-1", "memtest"),
                 ("set", "host", "comment", "compute-0-0", "a comment  with  blanks "),
                 ("set", "host", "attr", "compute-0-1", "rack", "a value % with %s in it")):
        result = cluster(*argv)
        assert result.code == 0, (argv, result)
    return cluster


def _reference(settings, argv: tuple[str, ...], fmt: str) -> str:  # type: ignore[no-untyped-def]
    """What the per-host ORM rows printed through the per-cell printers (the code this replaced)."""
    ctx = Context(settings)
    try:
        with ctx.cluster.db.session() as session:
            if argv == ("list", "host"):
                headers = HOST_HEADERS
                rows = [(h.name, h.membership.name, h.cpus, h.rack, h.rank, h.arch, h.os, h.run_action,
                         h.install_action)
                        for h in session.scalars(select(Host).order_by(Host.rack, Host.rank, Host.name))]
            else:
                headers = IFACE_HEADERS
                every = list(session.scalars(select(Host)))
                rows = [(i.host.name, i.subnet.name if i.subnet else None, i.device, i.mac, i.ip,
                         i.subnet.netmask if i.subnet else None, i.module, i.name, i.vlan)
                        for i in inventory_interfaces.list_interfaces(session, every)]
    finally:
        ctx.close()
    if fmt == "json":
        return per_cell_json([h.lower() for h in headers], rows)
    return per_cell_table(headers, rows) if rows else ""


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_fast_listings_print_what_the_orm_rows_printed(varied, settings, fmt):  # type: ignore[no-untyped-def]
    for argv in LISTINGS[:2]:
        result = varied(*argv, f"output-format={fmt}")
        assert result.code == 0, result
        assert result.out == _reference(settings, argv, fmt), argv
    assert "compute-12-345" in varied("list", "host").out
    assert "compute-12-345" not in varied("list", "host", "interface").out  # no interface, no line
    assert "4094" in varied("list", "host", "interface").out


def test_delegated_listings_match_the_in_process_cli(varied, served, settings):  # type: ignore[no-untyped-def]
    named = ("compute-3-7", "frontend", "COMPUTE-12-345", "compute-3-7")
    for argv in [*LISTINGS, ("list", "host", *named), ("list", "host", "interface", *named)]:
        for fmt in FORMATS:
            delegated = rocks(settings, *argv, *fmt)
            assert delegated[0] == 0, (argv, delegated)
            assert delegated == rocks(settings, *argv, *fmt, local=True), (argv, fmt)
