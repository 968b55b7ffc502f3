"""``rocks list host attr`` resolves many hosts at once (issue #13): on a varied cluster (attributes at every
scope overriding each other, secret ones at several scopes, a VM, a host without interfaces, one with
several) it prints, in every output format, exactly what resolving each host on its own printed."""

from __future__ import annotations

import json

import pytest

from ksserver.cli.context import Context
from ksserver.inventory import context
from ksserver.inventory import hosts as inventory_hosts
from ksserver.services.attrs import AttrRow
from tests.cli.test_list_all import varied  # noqa: F401  (fixture: a VM, hosts with 0 and 3 interfaces)
from tests.cli.test_output import per_cell_json, per_cell_table

HEADERS = ["HOST", "ATTR", "VALUE", "SOURCE"]
NAMED = ("compute-3-7", "FRONTEND", "compute-12-345", "compute-3-7")  # upper case and a repeat, as given
VARIANTS = [(), ("secrets=yes",), ("attr=site_tag",), ("attr=Kickstart_PrivateRootPassword",),
            ("attr=Kickstart_PrivateRootPassword", "secrets=yes"), ("attr=no_such_attr",), ("attr=hostaddr",),
            NAMED, (*NAMED, "secrets=yes"), ("vm-container-0-0", "attr=site_tag")]
FORMATS = [(), ("output-format=table",), ("output-format=json",)]


@pytest.fixture
def layered(varied):  # type: ignore[no-untyped-def]
    for argv in (("set", "attr", "site_tag", "global"),
                 ("set", "attr", "Kickstart_PrivateRootPassword", "$6$salt$globalhash"),
                 ("set", "attr", "only_global", "g"),
                 ("set", "os", "attr", "linux", "site_tag", "os"),
                 ("set", "os", "attr", "linux", "os_only", "o"),
                 ("set", "appliance", "attr", "compute", "site_tag", "appliance"),
                 ("set", "appliance", "attr", "compute", "bmc_secret", "appliance-secret"),
                 ("set", "appliance", "attr", "frontend", "Kickstart_PrivateRootPassword", "$6$salt$fehash"),
                 ("set", "host", "attr", "compute-3-7", "site_tag", "host"),
                 ("set", "host", "attr", "compute-3-7", "ipmi_password", "host-secret"),
                 ("set", "host", "attr", "compute-12-345", "os_only", "own"),
                 ("set", "host", "attr", "frontend", "hostname", "not-the-name")):   # intrinsic wins
        result = varied(*argv)
        assert result.code == 0, (argv, result)
    return varied


def _per_host(settings, argv: tuple[str, ...], fmt: str) -> str:  # type: ignore[no-untyped-def]
    """What resolving each host on its own (the code this replaced) printed."""
    names = [a for a in argv if "=" not in a]
    options = dict(a.split("=", 1) for a in argv if "=" in a)
    only, reveal = options.get("attr"), options.get("secrets") == "yes"
    ctx = Context(settings)
    try:
        with ctx.cluster.db.session() as session:
            rows = [AttrRow(host.name, r.attr, r.value, r.source).masked(reveal)
                    for host in inventory_hosts.get_hosts(session, names)
                    for r in sorted(context.resolved_attrs(session, host).values(), key=lambda r: r.attr)
                    if only in (None, r.attr)]
    finally:
        ctx.close()
    tuples = [(r.target, r.attr, r.value, r.source) for r in rows]
    if fmt == "json":
        return per_cell_json([h.lower() for h in HEADERS], tuples)
    return per_cell_table(HEADERS, tuples) if tuples else ""


def test_bulk_listing_prints_what_per_host_resolution_did(layered, settings):  # type: ignore[no-untyped-def]
    for argv in VARIANTS:
        for fmt in FORMATS:
            result = layered("list", "host", "attr", *argv, *fmt)
            assert result.code == 0, (argv, fmt, result)
            expected = _per_host(settings, argv, "json" if fmt == ("output-format=json",) else "table")
            assert result.out == expected, (argv, fmt)


def test_the_cluster_is_as_varied_as_claimed(layered):  # type: ignore[no-untyped-def]
    out = layered("list", "host", "attr").out
    sources = {line.split()[0]: set() for line in out.splitlines()[1:]}
    for line in out.splitlines()[1:]:
        sources[line.split()[0]].add(line.split()[-1])
    assert {"global", "os", "appliance", "host", "intrinsic"} <= sources["compute-3-7:"]
    assert "compute-12-345:" in sources   # no interface, so no hostaddr
    assert "hostaddr" not in layered("list", "host", "attr", "compute-12-345").out
    vms = layered("list", "host", "vm", "status=no", "output-format=json")
    assert vms.code == 0, vms
    vm_names = {row["vm-host"] for row in json.loads(vms.out)}
    assert vm_names and {f"{name}:" for name in vm_names} <= set(sources)   # the VM is listed too
    assert "host-secret" not in out and "appliance-secret" not in out and "globalhash" not in out
    assert "********" in out
    revealed = layered("list", "host", "attr", "secrets=yes").out
    assert "host-secret" in revealed and "appliance-secret" in revealed and "$6$salt$fehash" in revealed
    own_name = layered("list", "host", "attr", "frontend", "attr=hostname").out
    assert "frontend: hostname frontend intrinsic" in " ".join(own_name.split())


def test_an_unknown_host_is_named_and_nothing_printed(layered):  # type: ignore[no-untyped-def]
    result = layered("list", "host", "attr", "compute-3-7", "nohost-9-9")
    assert result.code != 0 and "nohost-9-9" in result.err and result.out == ""
