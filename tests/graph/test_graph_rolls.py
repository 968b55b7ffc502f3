"""Rolls as library sources: add or replace the graphs of earlier sources, include-version
layers, and a roll whose graph adds an edge between another roll's nodes."""

from __future__ import annotations

import pytest

from ksserver.errors import GraphError, InvalidArgument
from ksserver.graph import GraphLibrary, KickstartCompiler, Source, check_roll_dir, roll_sources


def node(body: str) -> str:
    return f"<kickstart>\n{body}\n</kickstart>\n"


@pytest.fixture
def rolls(write, tmp_path):
    """base: the appliance roots; roll A (monitoring): its own nodes; roll B (scheduler): its
    nodes, plus an edge from A's node to B's and an order between them."""
    write("base/nodes/compute.xml", node("<package>base-compute</package>"))
    write("base/nodes/server.xml", node("<package>base-server</package>"))
    write("base/graphs/default/base.xml", '<graph>\n<edge from="server" to="compute"/>\n</graph>\n')
    write("rollA/nodes/monitor-client.xml", node("<post>echo monitor client</post>"))
    write("rollA/graphs/default/monitor.xml",
          '<graph>\n<edge from="compute" to="monitor-client"/>\n</graph>\n')
    write("rollB/nodes/sched-client.xml", node("<post>echo sched client</post>"))
    write("rollB/nodes/sched-monitor.xml", node("<post>echo sched plugin for the monitor</post>"))
    write("rollB/graphs/default/sched.xml", """
        <graph>
        <edge from="compute" to="sched-client"/>
        <edge from="monitor-client" to="sched-monitor"/>
        <order head="monitor-client" tail="sched-monitor"/>
        <order head="sched-monitor" tail="sched-client"/>
        </graph>
        """)  # line 3: the edge into roll A's node
    return tmp_path


def library(root, *names):
    return GraphLibrary.load([s for name in names for s in roll_sources(root / name, name, "add")])


def test_two_rolls_with_roll_a(rolls, attrs, compile_ks):
    lib = library(rolls, "base", "rollA", "rollB")
    assert lib.warnings == []
    text = compile_ks(lib, "compute", attrs())
    assert text.index("echo monitor client") < text.index("echo sched plugin for the monitor") \
        < text.index("echo sched client")
    assert "#   nodes/sched-monitor.xml (rollB)" in text


def test_two_rolls_without_roll_a(rolls, attrs, compile_ks):
    lib = library(rolls, "base", "rollB")
    # roll B's edge and order into roll A's node: a warning each, printed once, with file:line
    assert len(lib.warnings) == 2
    edge, order = lib.warnings
    sched = str(rolls / "rollB/graphs/default/sched.xml")
    assert edge == (f"{sched}:3: edge monitor-client -> sched-monitor: node 'monitor-client' has "
                    f"no node file (monitor-client.xml or replace-monitor-client.xml) in any "
                    f"source; ignored unless a compile reaches it")
    assert order.startswith(f"{sched}:4: order monitor-client -> sched-monitor: ")
    text = compile_ks(lib, "compute", attrs())
    assert "echo sched client" in text and "monitor" not in text.split("%packages")[1]
    assert "base-compute" in text


def test_an_edge_from_an_absent_roll_that_is_reached_is_an_error(rolls, write, attrs):
    write("rollB/graphs/default/zz-site.xml",
          '<graph>\n<edge from="sched-client" to="monitor-client"/>\n</graph>\n')
    lib = library(rolls, "base", "rollB")
    with pytest.raises(GraphError, match="edge sched-client -> monitor-client: node 'monitor-client'") as e:
        KickstartCompiler(lib).kickstart("compute", attrs())
    assert e.value.path.endswith("rollB/graphs/default/zz-site.xml") and e.value.line == 2


def test_replace_mode_drops_earlier_graphs(rolls, write, attrs, compile_ks):
    write("newbase/nodes/compute.xml", node("<package>newbase-compute</package>"))
    write("newbase/nodes/extra.xml", node("<package>newbase-extra</package>"))
    write("newbase/graphs/default/core.xml", '<graph>\n<edge from="compute" to="extra"/>\n</graph>\n')
    sources = [*roll_sources(rolls / "base", "base", "add"), *roll_sources(rolls / "rollA", "rollA"),
               *roll_sources(rolls / "newbase", "newbase", "replace"),
               *roll_sources(rolls / "rollB", "rollB", "add")]
    lib = GraphLibrary.load(sources)
    files = {p.name for p, _label in lib.graph("default").definition.files}
    assert files == {"core.xml", "sched.xml"}  # base.xml and monitor.xml replaced
    text = compile_ks(lib, "compute", attrs())
    assert "newbase-compute" in text and "newbase-extra" in text and "echo sched client" in text
    assert "monitor client" not in text
    # an "add" roll after the base keeps everything
    lib = GraphLibrary.load([*roll_sources(rolls / "base", "base"),
                             *roll_sources(rolls / "newbase", "newbase")])
    assert {p.name for p, _ in lib.graph("default").definition.files} == {"base.xml", "core.xml"}


def test_include_version_layer(rolls, write, attrs, compile_ks):
    write("rollA/include-version/7/nodes/monitor-client.xml", node("<post>echo monitor client 7</post>"))
    write("rollA/include-version/7/graphs/default/v7.xml",
          '<graph>\n<edge from="compute" to="v7-only"/>\n</graph>\n')
    write("rollA/include-version/7/nodes/v7-only.xml", node("<post>echo v7</post>"))
    assert [s.label for s in roll_sources(rolls / "rollA", "rollA", "add", version="7.0")] == \
        ["rollA", "rollA/include-version/7"]
    assert [s.label for s in roll_sources(rolls / "rollA", "rollA", "add", version="6.2")] == ["rollA"]
    assert [s.label for s in roll_sources(rolls / "rollA", "rollA", "add")] == ["rollA"]
    lib = GraphLibrary.load([*roll_sources(rolls / "base", "base"),
                             *roll_sources(rolls / "rollA", "rollA", "add", version="7")])
    text = compile_ks(lib, "compute", attrs())
    assert "echo monitor client 7" in text and "echo v7" in text
    assert "#   nodes/monitor-client.xml (rollA/include-version/7, overrides rollA)" in text


def test_mode_and_roll_dir_are_checked(rolls, tmp_path):
    with pytest.raises(InvalidArgument, match="graphs='merge' must be 'add' or 'replace'"):
        roll_sources(rolls / "rollA", "rollA", "merge")
    with pytest.raises(InvalidArgument, match="graphs='x'"):
        Source(rolls, "x", graphs="x")
    check_roll_dir(rolls / "rollA")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgument, match="is not a roll directory: no nodes/ or graphs/"):
        check_roll_dir(tmp_path / "empty")


def test_a_missing_roll_folder_replaces_nothing(rolls, attrs, compile_ks):
    lib = GraphLibrary.load([*roll_sources(rolls / "base", "base"),
                             *roll_sources(rolls / "gone", "gone", "replace")])
    assert "base-compute" in compile_ks(lib, "compute", attrs())
