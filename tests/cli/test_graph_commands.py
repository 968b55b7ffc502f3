"""rocks list host profile|xml|graph, list node xml, list appliance graph."""

from __future__ import annotations

import shutil

import pytest

from tests.ksvalidate import assert_valid_kickstart


def test_list_host_profile_is_valid_for_every_kickstartable_appliance(cluster):
    for host in ("frontend", "compute-0-0", "vm-container-0-0"):
        result = cluster("list", "host", "profile", host)
        assert result.code == 0, result
        assert_valid_kickstart(result.out)
        assert f"for host {host} " in result.out
    assert cluster("add", "host", "nas-0-0", "ip=auto").code == 0
    assert_valid_kickstart(cluster("list", "host", "profile", "nas-0-0").out)


def test_list_host_xml_annotates_sources(cluster):
    out = cluster("list", "host", "xml", "compute-0-0").out
    assert out.startswith("<kickstart ") and 'file="nodes/base.xml" source="stock"' in out


def test_list_node_xml_with_attrs(cluster, tmp_path):
    out = cluster("list", "node", "xml", "compute", 'attrs={"hostname": "probe-1"}').out
    assert "probe-1" in out
    attrs = tmp_path / "site.attrs"
    attrs.write_text("hostname: probe-2\n# comment\nKickstart_Timezone: Asia/Tokyo\n")
    out = cluster("list", "node", "xml", "compute", f"attrs={attrs}").out
    assert "probe-2" in out and "Asia/Tokyo" in out
    out = cluster("list", "node", "xml", "compute", "attrs={'hostname': 'probe-3'}").out
    assert "probe-3" in out
    bad = cluster("list", "node", "xml", "compute", "attrs={'a': __import__('os').system('true')}")
    assert bad.code == 1 and "not a JSON object or a dict literal" in bad.err
    missing = cluster("list", "node", "xml", "no-such-node")
    assert missing.code != 0 and "no-such-node" in missing.err


def test_graphs(cluster):
    dot = cluster("list", "host", "graph", "compute-0-0").out
    assert dot.startswith("digraph") and '"compute"' in dot
    dot = cluster("list", "appliance", "graph", "vm-container").out
    assert "kvm" in dot
    assert "not kickstartable" in cluster("list", "appliance", "graph", "network").err
    bad = cluster("list", "host", "graph", "compute-0-0", "format=png")
    assert bad.code != 0 and "svg" in bad.err and "png" in bad.err


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz not installed")
def test_graph_svg(cluster):
    svg = cluster("list", "appliance", "graph", "compute", "format=svg").out
    assert "<svg" in svg


def test_not_kickstartable_host_profile(cluster):
    cluster("add", "host", "network-0-0", "ip=auto")
    result = cluster("list", "host", "profile", "network-0-0")
    assert result.code == 1 and "not kickstartable" in result.err
