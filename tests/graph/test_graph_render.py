"""Compile once, render per host: cache keys, per-host values, substitution safety, outputs."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from ksserver.errors import GraphError, KickstartInvalid
from ksserver.graph import KickstartCompiler


def hosts(attrs, n):
    return [attrs(hostname=f"compute-0-{i}", rank=str(i), hostaddr=f"10.1.255.{254 - i}",
                  ksmac=f"52:54:00:00:00:{i:02x}") for i in range(n)]


def test_cache_hit_renders_each_hosts_values(stock_lib, attrs, ks_valid):
    comp = KickstartCompiler(stock_lib)
    texts = [comp.kickstart("compute", h) for h in hosts(attrs, 5)]
    assert comp.cache_info()["templates"] == 1
    for i, text in enumerate(texts):
        assert f"--ip=10.1.255.{254 - i} " in text and f"--hostname=compute-0-{i}.local" in text
        assert f"--device=52:54:00:00:00:{i:02x}" in text
        # nothing of any other host leaks in
        for j in range(5):
            if j != i:
                assert f"compute-0-{j}" not in text and f"10.1.255.{254 - j}" not in text
        ks_valid(text)
    # the first host again, after the others: identical to its first render
    assert comp.kickstart("compute", hosts(attrs, 1)[0]) == texts[0]


def test_condition_attributes_select_templates(stock_lib, attrs):
    comp = KickstartCompiler(stock_lib)
    plain = comp.kickstart("compute", attrs())
    x11 = comp.kickstart("compute", attrs(x11="true"))
    assert comp.cache_info()["templates"] == 2
    assert "skipx" in plain and "skipx" not in x11 and "@base-x" in x11
    # attributes no condition reads do not make new templates
    comp.kickstart("compute", attrs(rack="7", cpus="64"))
    assert comp.cache_info()["templates"] == 2
    # nor do different spellings of the same value
    comp.kickstart("compute", attrs(x11="no"))
    assert comp.cache_info()["templates"] == 3  # "no" != "false" as text: a new (identical) template


def test_lru_bound(stock_lib, attrs):
    comp = KickstartCompiler(stock_lib, cache_size=2)
    for root in ("compute", "login", "nas", "compute"):
        comp.kickstart(root, attrs())
    assert comp.cache_info() == {"templates": 2, "max": 2}


def test_evals_flag_is_part_of_the_key(tree, attrs):
    lib = tree({"n": "<post><eval>echo ran</eval></post>"})
    assert "ran" in KickstartCompiler(lib, evals=True).kickstart("n", attrs())
    assert "skipped" in KickstartCompiler(lib, evals=False).kickstart("n", attrs())


@pytest.mark.parametrize("value, char", [("a\nb", "U+000A"), ("a\rb", "U+000D"),
                                         ("a\x00", "U+0000"), ("a\u2028b", "U+2028"),
                                         ("a\x85b", "U+0085"), ("a\x1eb", "U+001E")])
def test_control_characters_are_refused(stock_lib, attrs, value, char):
    comp = KickstartCompiler(stock_lib)
    comp.kickstart("compute", attrs())
    with pytest.raises(GraphError, match=re.escape(f"'Info_ClusterName' contains the control character {char}")) as e:
        comp.kickstart("compute", attrs(Info_ClusterName=value))
    assert e.value.path.endswith("nodes/base.xml")


def test_tab_is_allowed(stock_lib, attrs):
    assert "A\tB" in KickstartCompiler(stock_lib).kickstart("compute", attrs(Info_ClusterName="A\tB"))


def test_word_breaking_value_in_a_command_line_is_validated(stock_lib, attrs):
    comp = KickstartCompiler(stock_lib)
    comp.kickstart("compute", attrs())
    # a space splits the hostname option into two words: pykickstart rejects the line
    with pytest.raises(KickstartInvalid, match=r"network --bootproto=static") as e:
        comp.kickstart("compute", attrs(hostname="evil --onboot=off x"))
    assert e.value.path.endswith("nodes/networking-client.xml")
    # a quote is checked too (and here happens to be harmless)
    text = comp.kickstart("compute", attrs(Kickstart_Lang="en_US"))
    assert "lang en_US\n" in text


def test_value_at_line_start_cannot_end_a_section(tree, attrs):
    lib = tree({"n": "<post>\n&payload;\n</post>"})
    comp = KickstartCompiler(lib)
    assert "\necho fine\n" in comp.kickstart("n", attrs(payload="echo fine"))
    with pytest.raises(KickstartInvalid):
        comp.kickstart("n", attrs(payload="%end"))
    # a %-line that pykickstart accepts inside a script is served (it was validated)
    assert "\n%packages\n" not in comp.kickstart("n", attrs(payload="%%"))


def test_value_cannot_end_a_heredoc(tree, attrs):
    lib = tree({"n": "<post><file name='/x'>\n&payload;\n</file></post>"})
    comp = KickstartCompiler(lib)
    text = comp.kickstart("n", attrs(payload="ok"))
    delim = re.search(r"<< '(KSEOF_\w+)'", text).group(1)
    with pytest.raises(GraphError, match="here-document"):
        comp.kickstart("n", attrs(payload=delim))


def test_first_host_with_unusual_values_does_not_vouch_for_others(tree, attrs):
    lib = tree({"n": "<main><timezone>&tz;</timezone></main>"})
    comp = KickstartCompiler(lib)
    comp.kickstart("n", attrs(tz="Etc/UTC --utc"))  # two words, validated on its own
    assert "timezone Europe/Paris" in comp.kickstart("n", attrs(tz="Europe/Paris"))
    with pytest.raises(KickstartInvalid):
        comp.kickstart("n", attrs(tz=""))  # empty: the line loses its argument


def test_undefined_attribute_in_a_later_host(stock_lib, attrs):
    comp = KickstartCompiler(stock_lib)
    comp.kickstart("compute", attrs())
    host = attrs()
    del host["Kickstart_PrivateGateway"]
    with pytest.raises(GraphError, match=r"undefined entity &Kickstart_PrivateGateway;") as e:
        comp.kickstart("compute", host)
    assert e.value.path.endswith("nodes/networking-client.xml") and e.value.line


def test_failed_template_is_not_cached(tree, attrs):
    lib = tree({"n": "<main><reboot>--bogus</reboot></main>"})
    comp = KickstartCompiler(lib)
    for _ in range(2):
        with pytest.raises(KickstartInvalid):
            comp.kickstart("n", attrs())
    assert comp.cache_info()["templates"] == 0


def test_unknown_ks_version(stock_lib, attrs):
    with pytest.raises(GraphError, match="unknown kickstart version 'RHEL99'"):
        KickstartCompiler(stock_lib).kickstart("compute", attrs(ks_version="RHEL99"))


def test_ks_version_from_compiler_default(tree, attrs):
    lib = tree({"n": "<main><install/></main>"})
    host = attrs()
    del host["ks_version"]
    with pytest.raises(KickstartInvalid, match="RHEL9"):
        KickstartCompiler(lib).kickstart("n", host)
    assert "install" in KickstartCompiler(lib, ks_version="RHEL7").kickstart("n", host)


# -- other outputs -------------------------------------------------------------------------------
def test_traversal(stock_lib, attrs):
    files = KickstartCompiler(stock_lib).traversal("vm-container", attrs(kvm="yes"))
    assert [nf.node for nf in files][-1] == "vm-container"
    assert "kvm-client" in [nf.node for nf in files] and "xen-client" not in [nf.node for nf in files]
    nf = files[0]
    assert (nf.node, nf.kind, nf.relpath, nf.label) == ("base", "node", "nodes/base.xml", "stock")
    assert nf.path.is_file() and nf.describe() == "nodes/base.xml (stock)"


def test_profile_xml(tree, attrs):
    lib = tree({"a": """
        <var name="Greeting" val="hello &hostname;"/>
        <description>ignored</description>
        <main><lang>&Kickstart_Lang;</lang><skipx cond="x11"/></main>
        <package os="sunos">never</package>
        <package>pkg-&arch;</package>
        <post>echo <var name="Greeting"/> &amp; <eval>echo evaluated</eval>
        <file name="/etc/&hostname;" os="linux">x</file></post>
        """, "b": "<post><eval mode='xml'>echo '&lt;file name=\"/y\"&gt;z&lt;/file&gt;'</eval></post>"},
        graph='<edge from="a" to="b"/>')
    xml = KickstartCompiler(lib).profile_xml("a", attrs(hostname="h1"))
    root = etree.fromstring(xml)
    assert root.tag == "kickstart" and root.get("root") == "a"
    assert [el.tag for el in root if isinstance(el.tag, str)] == ["main", "package", "post", "post"]
    assert all(el.get("file") and el.get("source") == "test" for el in root.iter("main", "lang", "file"))
    assert root.find("main/lang").text == "en_US.UTF-8" and root.find("main/skipx") is None
    assert root.find("package").text == "pkg-x86_64"
    post = root.findall("post")
    assert post[0].text.startswith("echo hello h1 & evaluated")
    assert post[0].find("file").get("name") == "/etc/h1"
    assert post[1].find("file").get("name") == "/y" and post[1].find("file").get("file") == "nodes/b.xml"
    off = KickstartCompiler(lib, evals=False).profile_xml("a", attrs())
    assert "<eval> at nodes/a.xml:7 skipped (evals disabled)" in off
    comments = [c.text for c in etree.fromstring(off).iter(etree.Comment)]
    assert " nodes/a.xml (test) " in comments


def test_graph_dot(stock_lib, attrs):
    dot = KickstartCompiler(stock_lib).graph_dot("vm-container", attrs(xen="yes"))
    assert dot.startswith('digraph "default" {') and dot.rstrip().endswith("}")
    assert '"vm-container" -> "xen-client";' in dot and '"vm-container" -> "client";' in dot
    assert '"client" -> "base";' in dot and "kvm-client" not in dot
    assert re.search(r'"vm-container" \[label="vm-container\\nvm-container.xml \(stock\)" shape=box', dot)


def test_threads_share_a_compiler(stock_lib, attrs):
    from concurrent.futures import ThreadPoolExecutor

    comp = KickstartCompiler(stock_lib)
    work = [("compute" if i % 3 else "login", attrs(hostname=f"h-{i}", x11="yes" if i % 4 == 0 else "no"))
            for i in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        texts = list(pool.map(lambda job: comp.kickstart(*job), work))
    for (root, host), text in zip(work, texts):
        assert f"for host {host['hostname']} (graph 'default', root node '{root}')" in text
        assert f"--hostname={host['hostname']}.local " in text
        assert ("@base-x" in text) == (host["x11"] == "yes")


def _scanned_headers(text):
    return [line for line in text.split("\n") if line.startswith("%")]


@pytest.mark.parametrize("root", ["compute", "login", "nas"])
def test_warm_render_and_headers_match_the_slow_way(stock_lib, attrs, root):
    """A warm render is one str.format; its headers come from the template without a scan. Both must be
    what joining the parts and scanning the text give, for values with braces, tabs and format fields."""
    from ksserver.graph.render import RenderContext, render_parts

    comp = KickstartCompiler(stock_lib)
    odd = attrs(Info_ClusterName="{0} {name} }}{{ 100%", Kickstart_Timezone="Etc/UTC",
                Kickstart_Lang="en_US.UTF-8", hostname="compute-0-9", Info_CertificateOrganization="a\tb {1}")
    for values in (attrs(), odd, *hosts(attrs, 3)):
        comp.kickstart(root, values)  # the first render validates; the next ones take the warm path
        text, headers = comp.kickstart_with_headers(root, values)
        tpl = comp.cached_template(comp.cache_key(root, values))
        assert tpl.validated_safe and headers is not None
        vals = tpl.values(values)
        assert text == render_parts(tpl.flat, RenderContext(vals, values, None, None))
        assert list(headers) == _scanned_headers(text)
    assert "{0} {name} }}{{ 100%" in comp.kickstart(root, odd)


def test_unusual_value_skips_the_known_headers(tree, attrs):
    lib = tree({"n": "<pre arg='--log=/tmp/&Kickstart_Lang;.log'>echo hi</pre>"})
    comp = KickstartCompiler(lib)
    comp.kickstart("n", attrs())
    text, headers = comp.kickstart_with_headers("n", attrs())
    assert list(headers) == _scanned_headers(text) and "%pre --log=/tmp/en_US.UTF-8.log" in headers
    # a value that is not a plain word in a header line is validated on its own: headers unknown
    spaced = attrs(Kickstart_Lang="en US")
    with pytest.raises(KickstartInvalid):
        comp.kickstart_with_headers("n", spaced)


def test_conditions_on_an_aliased_name_give_each_host_its_own_template(tree, attrs):
    """A condition read under a Rocks 5.0 alias (and attributes no host has): hosts that differ only there
    render from different templates, and an undefined condition attribute is simply false."""
    lib = tree({"a": """
        <main><lang>&Kickstart_Lang;</lang></main>
        <package cond="Node_Hostname == 'h1'">only-h1</package>
        <package cond="xen">only-xen</package>
        <package>pkg-&hostname;</package>
        """})
    comp = KickstartCompiler(lib)
    assert "only-h1" in comp.kickstart("a", attrs(hostname="h1"))
    assert "only-h1" not in comp.kickstart("a", attrs(hostname="h2"))
    assert "only-h1" in comp.kickstart("a", attrs(hostname="h1"))  # warm: its own template again
    assert "only-xen" not in comp.kickstart("a", attrs(hostname="h2"))
    assert "only-xen" in comp.kickstart("a", attrs(hostname="h2", xen="true"))
