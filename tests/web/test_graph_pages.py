"""The graph in the console: the whole graph SVG, nodes with the appliances reaching them, a node's XML
(escaped: site-profile content is markup), a host's graph with the nodes it reaches marked."""

from __future__ import annotations

from ksserver.services import builds, graphviews


def test_whole_graph_and_nodes(reader, web_cluster):
    page = reader.get("/console/graph")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'src="/console/graph.svg"' in html and "<svg" not in html
    nodes = {n.name: n for n in graphviews.graph_nodes(web_cluster)}
    assert "compute" in nodes["compute"].appliances and "frontend" not in nodes["compute"].appliances
    assert set(nodes["base"].appliances) >= {"compute", "frontend"}
    svg = reader.get("/console/graph.svg")
    assert svg.mimetype == "image/svg+xml" and "<svg" in svg.get_data(as_text=True)
    assert svg.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert reader.get("/console/nodes/no-such-node").status_code == 404
    node = reader.get("/console/nodes/compute").get_data(as_text=True)
    assert "&lt;kickstart" in node and 'id="appliances">compute' in node


def test_site_profile_xml_is_shown_escaped(reader, web_cluster, settings):
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    (nodes / "extend-compute.xml").write_text(
        "<kickstart>\n<description>&lt;script&gt;alert(1)&lt;/script&gt;</description>\n"
        "<post>echo '<![CDATA[<script>alert(2)</script>]]>'</post>\n</kickstart>\n")
    assert builds.wait_build(web_cluster, builds.start_build(web_cluster, "t").id).state == "succeeded"
    html = reader.get("/console/nodes/compute").get_data(as_text=True)
    assert "<script>" not in html and "&lt;script&gt;alert(2)" in html and "extend-compute.xml (site" in html


def test_host_graph_marks_what_the_host_reaches(reader, web_cluster):
    page = reader.get("/console/hosts/compute-0-0").get_data(as_text=True)
    assert 'src="/console/hosts/compute-0-0/graph.svg"' in page
    svg = graphviews.host_graph_marked(web_cluster, "compute-0-0", "dot")
    assert '"compute" [label="compute' in svg and "filled" in svg
    marked = {line.split('"')[1] for line in svg.splitlines() if "filled" in line}
    assert {"compute", "base"} <= marked
    response = reader.get("/console/hosts/compute-0-0/graph.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert reader.get("/console/hosts/no-such-host/graph.svg").status_code == 404
