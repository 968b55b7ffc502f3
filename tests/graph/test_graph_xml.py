"""Parsing: file/line/column in errors, and explicit entity substitution."""

from __future__ import annotations

import pytest
from lxml import etree

from ksserver.errors import GraphError
from ksserver.graph import GraphLibrary, KickstartCompiler, Source
from ksserver.graph.xmlload import parse_file, parse_text


def test_malformed_xml_names_file_line_and_column(write, tmp_path):
    path = write("s/nodes/bad.xml", """\
        <kickstart>
        <post>
        if [ 1 -lt 2 ] && true; then echo; fi
        </post>
        </kickstart>
        """)
    with pytest.raises(GraphError) as e:
        GraphLibrary.load([Source(tmp_path / "s", "site")])
    err = e.value
    assert err.path == str(path) and err.line == 3 and err.column
    assert str(err).startswith(f"{path}:3:{err.column}: malformed XML")


def test_line_and_column_are_libxml2s(tmp_path):
    text = '<?xml version="1.0"?>\n<kickstart>\n  <post>&hostname;\n</kickstart>\n'
    with pytest.raises(GraphError) as e:
        parse_text(text, tmp_path / "x.xml")
    parser = etree.XMLParser()
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(text.replace("&hostname;", "xhostnamex").encode(), parser)
    first = parser.error_log[0]
    assert (e.value.line, e.value.column) == (first.line, first.column) == (4, 13)


def test_columns_stay_exact_after_entities(tmp_path):
    # the placeholder for &hostname; has the same length, so column numbers do not move
    with pytest.raises(GraphError) as e:
        parse_text("<kickstart><post>&hostname; &&</post></kickstart>", tmp_path / "x.xml")
    plain = None
    try:
        parse_text("<kickstart><post>xhostnamex &&</post></kickstart>", tmp_path / "y.xml")
    except GraphError as e2:
        plain = e2.column
    assert e.value.column == plain


def test_entities_substituted_and_escaped(tree, compile_ks, attrs):
    lib = tree({"n": """
        <post>
        echo "&hostname; &Info_ClusterName;" &gt; /tmp/x &amp;&amp; echo &#65;&#x42; &lt;done&gt; &quot;&apos;
        </post>
        """})
    host = attrs(hostname="c-0-0", Info_ClusterName="A&B <x> \"q\"")
    text = compile_ks(lib, "n", host)
    assert """echo "c-0-0 A&B <x> "q"" > /tmp/x && echo AB <done> "'""" in text


def test_entities_in_attributes(tree, compile_ks, attrs):
    lib = tree({"n": """<post><file name="/etc/&hostname;.conf" owner="&owner;">x</file></post>"""})
    text = compile_ks(lib, "n", attrs(hostname="c1", owner="root:wheel"))
    assert "cat > /etc/c1.conf << 'KSEOF_" in text
    assert "chown root:wheel /etc/c1.conf" in text


def test_undefined_entity_names_file_line_and_name(tree, attrs):
    lib = tree({"n": """
        <post>
        echo ok
        echo &no_such_attribute;
        </post>
        """})
    with pytest.raises(GraphError) as e:
        KickstartCompiler(lib).kickstart("n", attrs())
    assert e.value.line == 4 and e.value.path.endswith("nodes/n.xml")
    assert "&no_such_attribute;" in e.value.reason


def test_cdata_comments_and_declaration(tree, compile_ks, attrs):
    lib = tree({"n": """<?xml standalone='no' version='1.0' ?>
        <kickstart>
        <!-- &undefined_in_comment; is never looked at -->
        <post><![CDATA[
        if [ 1 < 2 ] && [ -n "&notanentity;" ]; then echo; fi
        ]]>echo &hostname;</post>
        </kickstart>
        """})
    text = compile_ks(lib, "n", attrs(hostname="h1"))
    assert 'if [ 1 < 2 ] && [ -n "&notanentity;" ]; then echo; fi' in text
    assert "echo h1" in text


def test_declared_encoding(tmp_path):
    path = tmp_path / "latin.xml"
    path.write_bytes('<?xml version="1.0" encoding="ISO-8859-1"?>\n<kickstart><post>caf\xe9</post></kickstart>'
                     .encode("latin-1"))
    doc = parse_file(path)
    assert doc.root.find("post").text == "caf\xe9"


def test_bad_utf8_names_line(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_bytes(b"<kickstart>\n<post>\n\xff</post></kickstart>")
    with pytest.raises(GraphError) as e:
        parse_file(path)
    assert e.value.line == 3


def test_reserved_private_use_character(tmp_path):
    with pytest.raises(GraphError, match="U\\+E000"):
        parse_text("<kickstart>\n\ue000</kickstart>", tmp_path / "x.xml")


def test_wrong_root_element(write, tmp_path):
    write("s/nodes/n.xml", "<graph/>")
    with pytest.raises(GraphError, match="root element must be <kickstart>"):
        GraphLibrary.load([Source(tmp_path / "s", "site")])
