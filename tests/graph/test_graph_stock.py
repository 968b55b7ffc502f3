"""The stock graph: every appliance compiles for EL9, matches its golden file, and the stock
nodes need only the attributes the inventory supplies (and docs/graph.md lists).

Regenerate the golden files with ``KSSERVER_UPDATE_GOLDEN=1 pytest tests/graph`` and review
the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ksserver.graph import KickstartCompiler, stock_nodes_dir

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
DOCS = HERE.parents[1] / "docs" / "graph.md"

# What the inventory supplies (the compiler's contract with ksserver.inventory).
SUPPLIED = {
    "hostname", "membership", "appliance", "rack", "rank", "cpus", "arch", "os", "hostaddr", "ksmac",
    "netmask", "distribution", "graph", "root", "ks_version", "version", "Info_ClusterName",
    "Kickstart_Lang", "Kickstart_Keyboard", "Kickstart_Timezone", "Kickstart_DistroDir",
    "ssh_use_dns", "x11", "kickstartable", "xen", "kvm", "Kickstart_PrivateInstallHost",
} | {f"Kickstart_{side}{what}" for side in ("Private", "Public") for what in (
    "RootPassword", "KickstartHost", "KickstartBasedir", "Address", "Hostname", "Network",
    "Netmask", "NetmaskCIDR", "Broadcast", "Gateway", "DNSDomain", "DNSServers", "NTPHost",
    "SyslogHost", "Interface")}

APPLIANCES = {
    "compute": ("compute", {}),
    "server": ("server", {"hostname": "frontend", "appliance": "frontend", "membership": "Frontend",
                          "hostaddr": "10.1.1.1", "x11": "true", "ssh_use_dns": "false"}),
    "nas": ("nas", {"hostname": "nas-0-0", "appliance": "nas", "membership": "NAS Appliance"}),
    "login": ("login", {"hostname": "login-0-0", "appliance": "login", "membership": "Login"}),
    "vm-container-kvm": ("vm-container", {"hostname": "vm-container-0-0", "appliance": "vm-container",
                                          "membership": "VM Container", "kvm": "true", "xen": "false"}),
    "vm-container-xen": ("vm-container", {"hostname": "vm-container-0-1", "appliance": "vm-container",
                                          "membership": "VM Container", "kvm": "false", "xen": "true"}),
}


def stock_entities() -> set[str]:
    names: set[str] = set()
    for path in sorted(stock_nodes_dir().glob("*.xml")):
        text = re.sub(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->", "", path.read_text(), flags=re.S)
        names |= set(re.findall(r"&([A-Za-z_][\w.\-]*);", text)) - {"amp", "lt", "gt", "quot", "apos"}
        names |= set(re.findall(r'<var\s+name="([^"]+)"', text))
    return names


@pytest.mark.parametrize("golden", sorted(APPLIANCES))
def test_appliance_matches_golden(golden, stock_lib, attrs, ks_valid):
    root, extra = APPLIANCES[golden]
    host = attrs(**extra)
    assert set(host) <= SUPPLIED
    text = KickstartCompiler(stock_lib).kickstart(root, host)
    path = GOLDEN / f"{golden}.ks"
    if os.environ.get("KSSERVER_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()
    ks_valid(path.read_text())


def test_vm_container_conditional_edges(stock_lib, attrs):
    comp = KickstartCompiler(stock_lib)
    plain = [nf.node for nf in comp.traversal("vm-container", attrs())]
    assert "client" in plain and "xen-client" not in plain and "kvm-client" not in plain
    both = [nf.node for nf in comp.traversal("vm-container", attrs(xen="yes", kvm="yes"))]
    assert {"xen-client", "kvm-client"} <= set(both)


def test_stock_nodes_need_only_supplied_attributes():
    assert stock_entities() <= SUPPLIED


def test_docs_list_every_attribute_the_stock_nodes_use():
    docs = DOCS.read_text()
    missing = sorted(name for name in stock_entities() if f"`{name}`" not in docs)
    assert not missing, f"docs/graph.md does not mention {missing}"


def test_every_stock_node_is_reached_by_some_appliance(stock_lib, attrs):
    comp = KickstartCompiler(stock_lib)
    reached: set[str] = set()
    for root, extra in APPLIANCES.values():
        reached |= {nf.node for nf in comp.traversal(root, attrs(**extra))}
    assert set(stock_lib.node_names()) == reached


def test_stock_files_are_data_only():
    assert not list(stock_nodes_dir().rglob("*.py"))


def test_partition_hook(stock_lib, attrs):
    text = KickstartCompiler(stock_lib).kickstart("compute", attrs())
    assert "\n%include /tmp/partition-info\n" in text
    pre = text.index('echo "rocks force-default-root-disk-only" > /tmp/user_partition_info')
    # partition before do-partition; the decision is the installer plugin's (the server adds its arguments)
    assert pre < text.index('sys.exit(main(["pre-decide"]))')
    assert "clearpart" not in text  # the old do-partition shell cleared the first disk at every install
    assert "--nochroot" not in text  # the %post report is added per host by ksserver.partition_kickstart
