"""Rocks 6.2 and 7.0 from the public corpus, layered as rolls the way a frontend of that
release layered them: 6.2 = base-6.2 + include-version/6; 7.0 = core-7.0 + base-7.0 +
include-version/7.  Output is validated with RHEL6 / RHEL7 syntax; evals are off.
"""

from __future__ import annotations

import re
import subprocess
import textwrap

import pytest

from ksserver.graph import GraphLibrary, KickstartCompiler, roll_sources
from ksserver.graph.graphs import HEAD, TAIL

from .test_graph_corpus import check_whole, rocks_attrs

RELEASES = {
    "6.2": (("base-6.2", "base", "replace"),),
    "7.0": (("core-7.0", "core", "replace"), ("base-7.0", "base", "add")),
}
# Appliance name -> root node (Rocks' appliances.Node); devel-server's root is devel-appliance.
APPLIANCES = {"frontend": "server", "compute": "compute", "nas": "nas", "login": "login",
              "devel-server": "devel-appliance"}
_RENAMED = ("Hostname", "Address", "Interface", "Network", "Netmask", "NetmaskCIDR", "DNSDomain",
            "Gateway")


def release_sources(corpus, release):
    return [s for folder, label, mode in RELEASES[release]
            for s in roll_sources(corpus / folder, label, mode, version=release)]


@pytest.fixture(scope="module", params=sorted(RELEASES))
def release(request, corpus):
    return request.param, GraphLibrary.load(release_sources(corpus, request.param))


def attrs_for(attrs, release, appliance, **extra):
    """A Rocks-like attribute set (rocks-reference.md §1.3) for a host of ``release``."""
    host = rocks_attrs(attrs, ks_version="RHEL" + release[0], version=release, rocks_version=release,
                       rocks_version_major=release[0], os_version_major=release[0],
                       appliance=appliance, Kickstart_PublicMTU="1500", Kickstart_PrivateMTU="1500")
    host.update(extra)
    return host


def test_layering_and_warnings(release, corpus):
    name, lib = release
    labels = [s.label for s in lib.sources]
    if name == "6.2":
        assert labels == ["base", "base/include-version/6"]
        assert lib.warnings == []
    else:
        assert labels == ["core", "base", "base/include-version/7"]  # core has no include-version
        # base-7.0 orders database-server, which neither 7.0 roll has: a warning, not an error
        assert lib.warnings and all("node 'database-server' has no node file" in w for w in lib.warnings)
        assert all(w.startswith(str(corpus / "base-7.0/graphs/default/base.xml")) for w in lib.warnings)
    upstart = lib.node_files("upstart")
    assert [nf.label for nf in upstart] == [f"base/include-version/{name[0]}"]


@pytest.mark.parametrize("appliance", sorted(APPLIANCES))
def test_appliances_compile_and_validate(release, appliance, attrs, compile_ks):
    name, lib = release
    root = APPLIANCES[appliance]
    text = compile_ks(lib, root, attrs_for(attrs, name, appliance), evals=False)
    check_whole(text, root)
    assert "url --url http://10.1.1.1/install/rocks-dist/x86_64" in text
    # Rocks_version_major conditions picked this release's branch
    other = "7" if name == "6.2" else "6"
    assert f"rocks_version_major == {other}" not in text


def _phase_scripts(lib, comp, root, host):
    install, reconfigure_only = [], []
    for nf in comp.traversal(root, host):
        for item in nf.ir.reconfigure:
            (install if item in nf.ir.items else reconfigure_only).append((nf, item))
    return install, reconfigure_only


@pytest.mark.parametrize("appliance", ["frontend", "compute"])
def test_no_element_of_another_phase_reaches_the_kickstart(release, appliance, attrs):
    name, lib = release
    root = APPLIANCES[appliance]
    host = attrs_for(attrs, name, appliance)
    comp = KickstartCompiler(lib, evals=False)
    text = comp.kickstart(root, host)
    install, reconfigure_only = _phase_scripts(lib, comp, root, host)
    if appliance == "frontend":
        assert reconfigure_only and install
    for nf, item in reconfigure_only:
        assert f"# {nf.relpath}:{item.line} (" not in text
    for nf, item in install:  # phase="post,reconfigure": in both
        if all(c.evaluate(host) for c in item.conds):
            assert f"# {nf.relpath}:{item.line} (" in text
    # the example: database-data.xml's reconfigure section edits routes
    assert "rocks remove host route" not in text


def test_reconfigure_scripts_of_the_frontend(release, attrs, tmp_path):
    name, lib = release
    host = attrs_for(attrs, name, "frontend", hostname="frontend")
    host.update({f"Kickstart_{net}{what}_old": host.get(f"Kickstart_{net}{what}", "x")
                 for net in ("Private", "Public") for what in _RENAMED})
    script = KickstartCompiler(lib, evals=False).reconfigure_scripts("server", host)
    assert script.startswith("#!/bin/bash\n") and script.endswith("exit $status\n")
    assert "rocks remove host route" in script
    assert re.search(r"^# nodes/database-data\.xml:\d+ \((core|base)\)$", script, re.MULTILINE)
    path = tmp_path / "reconfigure.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)  # well-formed shell


def test_graph_order_is_respected(release, attrs):
    name, lib = release
    host = attrs_for(attrs, name, "frontend")
    order = [nf.node for nf in KickstartCompiler(lib, evals=False).traversal("server", host)]
    position = {node: i for i, node in reversed(list(enumerate(order)))}
    checked = 0
    for o in lib.graph("default").definition.orders:
        if o.head in position and o.tail in position:
            assert position[o.head] < position[o.tail], (o.head, o.tail, str(o.path), o.line)
            checked += 1
    assert checked > 20
    # HEAD side first, TAIL side last (Rocks §1.5)
    orders = lib.graph("default").definition.orders
    head_side = {o.head for o in orders if o.tail == HEAD} & set(position)
    tail_side = {o.tail for o in orders if o.head == TAIL} & set(position)
    assert head_side and tail_side
    assert max(position[n] for n in head_side) < min(position[n] for n in tail_side)
    # the nodes no order mentions: one alphabetical block, before the TAIL side
    mentioned = {n for o in orders for n in (o.head, o.tail)}
    unordered = [n for n in order if n not in mentioned]
    assert unordered == sorted(unordered) and len(unordered) > 10
    assert max(position[n] for n in unordered) < min(position[n] for n in tail_side)


def test_vm_container_with_the_kvm_attribute(corpus, tmp_path, attrs, compile_ks):
    """A minimal KVM-like roll (our own files) added on top of 6.2, as the kvm roll was."""
    roll = tmp_path / "kvm"
    (roll / "nodes").mkdir(parents=True)
    (roll / "graphs/default").mkdir(parents=True)
    (roll / "nodes/vm-container.xml").write_text(textwrap.dedent("""\
        <kickstart>
          <package>libvirt</package>
          <package>qemu-kvm</package>
          <post cond="kvm">echo vm-container on &hostname;</post>
        </kickstart>
        """))
    (roll / "graphs/default/kvm.xml").write_text(textwrap.dedent("""\
        <graph>
          <edge from="vm-container-client"><to>client</to></edge>
          <edge from="client" cond="kvm"><to>vm-container</to></edge>
          <order head="vm-container" tail="TAIL"/>
        </graph>
        """))
    (roll / "nodes/vm-container-client.xml").write_text("<kickstart/>\n")
    lib = GraphLibrary.load([*release_sources(corpus, "6.2"), *roll_sources(roll, "kvm", "add")])
    host = attrs_for(attrs, "6.2", "vm-container", kvm="true", hostname="vm-container-0-0")
    text = compile_ks(lib, "vm-container-client", host, evals=False)
    check_whole(text, "vm-container-client")
    assert "#   nodes/vm-container.xml (kvm)" in text and "\nqemu-kvm\n" in text
    assert "echo vm-container on vm-container-0-0" in text
    without = compile_ks(lib, "vm-container-client", attrs_for(attrs, "6.2", "compute"), evals=False)
    assert "vm-container.xml" not in without and "qemu-kvm" not in without
