"""Sources layered stock -> site: extend, replace, new nodes, extra edges, reloads."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from ksserver.errors import GraphError
from ksserver.graph import GraphLibrary, Source, stock_nodes_dir

REPO = Path(__file__).resolve().parents[2]
SITE_PROFILES = REPO / "site-profiles"


@pytest.fixture
def stock_copy(tmp_path):
    """A private copy of the stock nodes (tests touch files in it)."""
    dst = tmp_path / "stock"
    shutil.copytree(stock_nodes_dir(), dst)
    return dst


def load(*sources):
    return GraphLibrary.load([Source(p, label) for p, label in sources])


def test_extend_replace_new_node_and_edges(tmp_path, write, compile_ks, attrs):
    write("site/nodes/extend-compute.xml", """\
        <kickstart>
        <package>tmux</package>
        <post>echo extended compute</post>
        </kickstart>""")
    write("site/nodes/replace-ssh.xml", """\
        <kickstart><post>echo replaced ssh</post></kickstart>""")
    write("site/nodes/extend-ssh.xml", "<kickstart><post>echo never: replace wins</post></kickstart>")
    write("site/nodes/mytools.xml", "<kickstart><package>strace</package></kickstart>")
    write("site/graphs/default/site.xml", """\
        <graph><edge from="compute" to="mytools"/></graph>""")
    lib = load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    text = compile_ks(lib, "compute", attrs(ssh_use_dns="false"))
    assert "#   nodes/extend-compute.xml (site, extends compute)" in text
    assert "#   nodes/replace-ssh.xml (site, replaces ssh)" in text
    assert "#   nodes/mytools.xml (site)" in text
    assert "echo extended compute" in text and "echo replaced ssh" in text
    assert "never" not in text and "UseDNS no" not in text
    assert "\nstrace\n" in text and "\ntmux\n" in text
    # the extend file comes right after the node it extends
    order = re.findall(r"^#   (\S+)", text, re.M)
    assert order[order.index("nodes/compute.xml") + 1] == "nodes/extend-compute.xml"


def test_site_file_overrides_a_stock_file_of_the_same_name(tmp_path, write, compile_ks, attrs):
    write("site/nodes/compute.xml", "<kickstart><post>echo site compute</post></kickstart>")
    lib = load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    text = compile_ks(lib, "compute", attrs())
    assert "#   nodes/compute.xml (site, overrides stock)" in text
    assert "echo site compute" in text and "chmod 1777" not in text


def test_replace_without_original(tmp_path, write, compile_ks, attrs):
    write("site/nodes/replace-brandnew.xml", "<kickstart><post>echo only replace</post></kickstart>")
    write("site/graphs/default/x.xml", '<graph><edge from="compute" to="brandnew"/></graph>')
    lib = load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    assert "echo only replace" in compile_ks(lib, "compute", attrs())


def test_extend_without_node_is_an_error(tmp_path, write):
    path = write("site/nodes/extend-nothing.xml", "<kickstart/>")
    with pytest.raises(GraphError, match="no source has nothing.xml") as e:
        load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    assert e.value.path == str(path)


def test_missing_site_dir_is_ignored_until_it_appears(tmp_path, write):
    lib = load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    assert lib.has_node("compute") and not lib.has_node("mytools")
    assert not lib.is_stale()
    write("site/nodes/mytools.xml", "<kickstart/>")
    assert lib.is_stale()
    assert load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site")).has_node("mytools")


def test_is_stale_on_edit_add_remove(stock_copy, tmp_path, write):
    write("site/nodes/extend-compute.xml", "<kickstart/>")
    sources = [Source(stock_copy, "stock"), Source(tmp_path / "site", "site")]
    lib = GraphLibrary.load(sources)
    assert not lib.is_stale()
    target = tmp_path / "site/nodes/extend-compute.xml"
    st = target.stat()
    target.write_text("<kickstart><post>echo edited in place</post></kickstart>")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert lib.is_stale()

    lib = GraphLibrary.load(sources)
    (stock_copy / "graphs/default/extra.xml").write_text("<graph/>")
    assert lib.is_stale()

    lib = GraphLibrary.load(sources)
    target.unlink()
    assert lib.is_stale()
    lib = GraphLibrary.load(sources)
    assert not lib.is_stale() and lib.fingerprint != ""


def test_broken_site_file_fails_the_load_by_name(tmp_path, write):
    write("site/nodes/extend-compute.xml", "<kickstart>\n<post>\necho a < b\n</post>\n</kickstart>\n")
    with pytest.raises(GraphError) as e:
        load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    assert e.value.path == str(tmp_path / "site/nodes/extend-compute.xml")
    assert e.value.line == 3 and e.value.column


def test_node_names(stock_lib):
    names = stock_lib.node_names()
    for root in ("server", "compute", "nas", "login", "vm-container", "client", "base"):
        assert root in names and stock_lib.has_node(root)
    assert not stock_lib.has_node("frontend")


# -- the repository's site-profiles examples -----------------------------------------------------
def test_repo_site_profiles_apply(compile_ks, attrs):
    lib = load((stock_nodes_dir(), "stock"), (SITE_PROFILES, "site"))
    text = compile_ks(lib, "compute", attrs())
    assert "nodes/replace-partition.xml (site, replaces partition)" in text
    assert "nodes/extend-compute.xml (site, extends compute)" in text
    assert "nodes/site-tools.xml (site)" in text
    assert 'export CLUSTER_NAME="Test Cluster"' in text
    assert "part / --size=20000 --fstype=xfs --ondisk=sda" in text
    login = compile_ks(lib, "login", attrs(appliance="login", membership="Login"))
    assert "nodes/site-tools.xml (site)" in login and "extend-compute" not in login


def partition_lines(text: str) -> str:
    m = re.search(r"cat > /tmp/user_partition_info << 'EOF'\n(.*?)\nEOF\n", text, re.S)
    assert m, text
    return m.group(1) + "\n"


@pytest.mark.parametrize("variant", ["nodes/replace-partition.xml",
                                     "variants/replace-partition-raid1.xml"])
def test_partition_examples_are_valid_kickstart(variant, tmp_path, compile_ks, attrs, ks_valid):
    (tmp_path / "site/nodes").mkdir(parents=True)
    shutil.copy(SITE_PROFILES / variant, tmp_path / "site/nodes/replace-partition.xml")
    lib = load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    text = compile_ks(lib, "compute", attrs())
    # what the %pre writes is itself checked as kickstart partitioning directives
    ks_valid(partition_lines(text))


def test_programmable_partition_example(tmp_path, compile_ks, attrs):
    (tmp_path / "site/nodes").mkdir(parents=True)
    shutil.copy(SITE_PROFILES / "variants/replace-partition-python.xml",
                tmp_path / "site/nodes/replace-partition.xml")
    lib = load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    text = compile_ks(lib, "compute", attrs(hostname="c-1-2"))
    script = re.search(r"%pre --interpreter=/usr/bin/python3\n(.*?)\n%end", text, re.S).group(1)
    assert 'hostname = "c-1-2"' in script and 'membership = "Compute"' in script
    compile(script, "replace-partition.xml", "exec")  # the %pre is valid Python 3


def test_skeleton_compiles_as_a_node(tmp_path, compile_ks, attrs):
    (tmp_path / "site/nodes").mkdir(parents=True)
    shutil.copy(SITE_PROFILES / "skeleton.xml", tmp_path / "site/nodes/extend-compute.xml")
    lib = load((stock_nodes_dir(), "stock"), (tmp_path / "site", "site"))
    assert "Welcome to compute-0-0" in compile_ks(lib, "compute", attrs())
