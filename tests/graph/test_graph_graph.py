"""Graph files: every edge and order form, traversal, ordering, and graph errors."""

from __future__ import annotations

import pytest

from ksserver.errors import GraphError
from ksserver.graph import KickstartCompiler
from ksserver.graph.graphs import OrderEdge
from ksserver.graph.traverse import merge, order_list


def names(lib, root, host):
    return [nf.node for nf in KickstartCompiler(lib).traversal(root, host)]


def nodes(*names_):
    return {n: f"<post>echo {n}</post>" for n in names_}


def test_every_edge_form_and_condition(tree, attrs):
    lib = tree(nodes(*"abcdefghij"), graph="""
        <edge from="a" to="b"/>
        <edge from="a"><to>c</to><to cond="x11">d</to><to os="linux">e</to></edge>
        <edge to="f"><from>a</from><from arch="ia64">g</from></edge>
        <edge from="a" cond="kvm"><to>h</to><to cond="x11">i</to></edge>
        <edge from="a" to="j" cond="xen and x11"/>
        """)
    assert names(lib, "a", attrs()) == ["a", "b", "c", "e", "f"]
    assert names(lib, "a", attrs(x11="yes", kvm="yes")) == ["a", "b", "c", "d", "e", "f", "h", "i"]
    assert names(lib, "a", attrs(xen="yes", x11="yes", os="sunos")) == ["a", "b", "c", "d", "f", "j"]
    # the condition on <edge> applies to its children, ANDed with theirs
    assert "i" not in names(lib, "a", attrs(x11="yes"))


def test_from_children_keep_their_own_conditions(tree, attrs):
    lib = tree(nodes("a", "g", "f"), graph='<edge to="f"><from arch="ia64">g</from><from>a</from></edge>'
                                       '<edge from="a" to="g"/>')
    assert names(lib, "g", attrs()) == ["g"]
    assert names(lib, "g", attrs(arch="ia64")) == ["f", "g"]


def test_cycles_are_harmless(tree, attrs):
    lib = tree(nodes("a", "b", "c"), graph="""
        <edge from="a" to="b"/><edge from="b" to="c"/><edge from="c" to="a"/><edge from="c" to="c"/>
        """)
    assert names(lib, "b", attrs()) == ["a", "b", "c"]


def test_unordered_nodes_are_alphabetical_at_tail(tree, attrs):
    lib = tree(nodes("root", "zeta", "alpha", "mid", "first", "last", "second"), graph="""
        <edge from="root"><to>zeta</to><to>alpha</to><to>mid</to><to>first</to><to>last</to><to>second</to></edge>
        <order head="HEAD"><tail>first</tail></order>
        <order head="first" tail="second"/>
        <order head="TAIL"><tail>last</tail><tail>root</tail></order>
        """)
    assert names(lib, "root", attrs()) == ["first", "second", "alpha", "mid", "zeta", "last", "root"]


def test_order_forms_and_gen(tree, attrs):
    lib = tree(nodes("r", "a", "b", "c", "d", "e"), graph="""
        <edge from="r"><to>a</to><to>b</to><to>c</to><to>d</to><to>e</to></edge>
        <order head="e" tail="d"/>
        <order tail="c"><head>d</head></order>
        <order head="c"><tail>b</tail></order>
        <order head="b" tail="a" gen="kgen"/>
        <order head="a" tail="e" gen="kpp"/>
        """)
    # e -> d -> c -> b -> a; the kpp edge (which would make a cycle) is ignored
    assert names(lib, "r", attrs()) == ["e", "d", "c", "b", "a", "r"]


def test_head_side_nodes_come_first(tree, attrs):
    lib = tree(nodes("r", "early", "x"), graph="""
        <edge from="r"><to>x</to><to>early</to></edge>
        <order tail="HEAD"><head>early</head></order>
        """)
    assert names(lib, "r", attrs()) == ["early", "r", "x"]


def test_order_through_unreached_nodes_is_kept(tree, attrs):
    lib = tree(nodes("r", "a", "b", "c"), graph="""
        <edge from="r"><to>c</to><to>a</to></edge>
        <order head="c" tail="b"/><order head="b" tail="a"/>
        """)
    assert names(lib, "r", attrs()) == ["c", "a", "r"]


def test_extend_keeps_the_position(tree, write, tmp_path, attrs):
    from ksserver.graph import GraphLibrary, Source

    write("site/nodes/extend-b.xml", "<kickstart><post>echo more b</post></kickstart>")
    lib = tree(nodes("a", "b", "c"), graph="""
        <edge from="a"><to>b</to><to>c</to></edge><order head="HEAD" tail="b"/>""", name="stock")
    lib = GraphLibrary.load([Source(tmp_path / "stock", "stock"), Source(tmp_path / "site", "site")])
    files = KickstartCompiler(lib).traversal("a", attrs())
    assert [nf.describe() for nf in files] == [
        "nodes/b.xml (stock)", "nodes/extend-b.xml (site, extends b)",
        "nodes/a.xml (stock)", "nodes/c.xml (stock)"]


def test_order_cycle_is_reported(tree):
    with pytest.raises(GraphError, match=r"order cycle: a -> b -> c -> a") as e:
        tree(nodes("a", "b", "c"), graph="""
            <edge from="a" to="b"/>
            <order head="a" tail="b"/>
            <order head="b"><tail>c</tail></order>
            <order tail="a">
                <head>c</head>
            </order>
            """)
    assert e.value.path.endswith("graphs/default/base.xml") and e.value.line in (3, 4, 7)


def test_order_cycle_through_head_and_tail(tree):
    with pytest.raises(GraphError, match="order cycle"):
        tree(nodes("a"), graph='<order head="TAIL" tail="a"/><order head="a" tail="HEAD"/>')


def test_edge_to_a_missing_node_is_an_error_when_reached(tree, attrs):
    lib = tree(nodes("a", "b"), graph='<edge from="b" to="a"/>\n<edge from="a">\n<to>ghost</to>\n</edge>')
    with pytest.raises(GraphError, match=r"edge a -> ghost: node 'ghost' has no node file") as e:
        KickstartCompiler(lib).kickstart("b", attrs())
    assert e.value.path.endswith("graphs/default/base.xml") and e.value.line == 4
    # the library loaded, and says so once
    [warning] = lib.warnings
    assert warning.endswith("graphs/default/base.xml:4: edge a -> ghost: node 'ghost' has no node "
                            "file (ghost.xml or replace-ghost.xml) in any source; ignored unless "
                            "a compile reaches it")


def test_edge_to_a_missing_node_not_reached(tree, attrs, compile_ks):
    lib = tree(nodes("a", "b"), graph='<edge from="a" to="b"/><edge from="ghost" to="b"/>'
                                      '<edge from="a" to="phantom" cond="x11"/>')
    text = compile_ks(lib, "a", attrs(x11="false"))
    assert "echo a" in text and "echo b" in text
    assert len(lib.warnings) == 2 and "'ghost'" in lib.warnings[0] and "'phantom'" in lib.warnings[1]
    with pytest.raises(GraphError, match="edge a -> phantom"):
        compile_ks(lib, "a", attrs(x11="true"))


def test_order_to_a_missing_node_is_ignored_with_a_warning(tree, attrs, compile_ks):
    lib = tree(nodes("a", "b"), graph='<edge from="a" to="b"/><order head="b" tail="ghost"/>'
                                      '<order head="b" tail="a"/>')
    text = compile_ks(lib, "a", attrs())
    assert text.index("echo b") < text.index("echo a")
    expected = ("order b -> ghost: node 'ghost' has no node file (ghost.xml or replace-ghost.xml) "
                "in any source; ignored")
    assert [w.split(": ", 1)[1] for w in lib.warnings] == [expected]


def test_root_with_edges_but_no_file(tree, attrs):
    lib = tree(nodes("a"), graph='<edge from="top" to="a"/>')
    with pytest.raises(GraphError, match=r"root node 'top': node 'top' has no node file"):
        KickstartCompiler(lib).kickstart("top", attrs())


def test_root_without_file_or_edges(tree, attrs):
    lib = tree(nodes("a"))
    with pytest.raises(GraphError, match=r"unknown root node 'nowhere'"):
        KickstartCompiler(lib).kickstart("nowhere", attrs())


def test_root_alone_is_fine(tree, compile_ks, attrs):
    lib = tree(nodes("solo", "other"), graph='<edge from="other" to="solo"/>')
    assert "echo solo" in compile_ks(lib, "solo", attrs())


def test_unknown_graph_name(tree, attrs):
    lib = tree(nodes("a"))
    with pytest.raises(GraphError, match=r"no graph named 'special'"):
        KickstartCompiler(lib).kickstart("a", attrs(graph="special"))


@pytest.mark.parametrize("body, message", [
    ("<edge from='a'/>", "needs a source"),
    ("<order head='a'/>", "needs a head"),
    ("<edge from='a'><too>b</too></edge>", "unexpected <too>"),
    ("<node name='a'/>", "unknown element <node>"),
    ("<edge from='a' to='b' cond='x11 or'/>", "bad cond"),
    ("<edge from='HEAD' to='a'/>", "only meaningful in <order>"),
    ("<edge from='a'><to> </to></edge>", "empty node name"),
])
def test_graph_file_mistakes(tree, body, message):
    with pytest.raises(GraphError, match=message):
        tree(nodes("a", "b"), graph=body)


def test_order_list_is_deterministic():
    def o(h, t):
        return OrderEdge(h, t, None, 0)  # type: ignore[arg-type]

    order = order_list([o("HEAD", "b"), o("c", "d"), o("TAIL", "z")])
    assert order == ["HEAD", "b", "c", "d", "TAIL", "z"]
    assert merge(order, {"z", "a", "d", "q"}) == ["d", "a", "q", "z"]
    assert merge([], {"b", "a"}) == ["a", "b"]
