"""phase= (Rocks 6.2): install-phase elements make the kickstart; reconfigure-phase scripts
come out of reconfigure_scripts(); undefined attributes are all named at once."""

from __future__ import annotations

import subprocess

import pytest

from ksserver.graph import KickstartCompiler, UndefinedAttributes, undefined_report

NODE = """
<kickstart>
  <package>always</package>
  <package phase="reconfigure">never-installed</package>
  <main><timezone phase="reconfigure">Europe/Paris</timezone></main>
  <post>echo install only</post>
  <configure phase="reconfigure">
sed -i -e 's/old/&hostname;/' /etc/motd
  </configure>
  <configure phase="post, reconfigure">echo both on &hostname;</configure>
  <post phase="reconfigure" interpreter="/usr/bin/python3">print("python reconfigure")</post>
  <post phase="reconfigure" cond="x11">echo x11 reconfigure</post>
  <pre phase="pre">echo pre</pre>
</kickstart>
"""


@pytest.fixture
def lib(tree):
    return tree({"a": NODE})


def test_non_install_phases_stay_out_of_the_kickstart(lib, attrs, compile_ks):
    text = compile_ks(lib, "a", attrs())
    assert "echo install only" in text and "echo both on compute-0-0" in text
    assert "echo pre" in text and "\nalways\n" in text
    for absent in ("never-installed", "Europe/Paris", "sed -i", "python reconfigure", "x11 reconfigure"):
        assert absent not in text


def test_reconfigure_scripts(lib, attrs, tmp_path):
    comp = KickstartCompiler(lib)
    script = comp.reconfigure_scripts("a", attrs(x11="false"))
    assert script.startswith("#!/bin/bash\n")
    assert "sed -i -e 's/old/compute-0-0/' /etc/motd" in script
    assert "echo both on compute-0-0" in script
    assert "/usr/bin/python3 \"$script\" || status=1" in script
    assert "echo install only" not in script and "echo pre" not in script
    assert "x11 reconfigure" not in script
    assert "x11 reconfigure" in comp.reconfigure_scripts("a", attrs(x11="true"))
    # it runs: each section in order, with its interpreter
    path = tmp_path / "r.sh"
    path.write_text(script.replace("sed -i -e 's/old/compute-0-0/' /etc/motd", "echo sed"))
    out = subprocess.run(["bash", str(path)], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["sed", "both on compute-0-0", "python reconfigure"]


def test_no_reconfigure_scripts(tree, attrs):
    lib = tree({"a": "<post>echo hi</post>"})
    script = KickstartCompiler(lib).reconfigure_scripts("a", attrs())
    assert "cat >" not in script and script.endswith("exit $status\n")


def test_empty_phase_is_an_error(tree):
    from ksserver.errors import GraphError

    with pytest.raises(GraphError, match="empty phase="):
        tree({"a": '<post phase=" , ">echo</post>'})


def test_every_undefined_attribute_at_once(tree, attrs):
    lib = tree({"a": "<post>echo &one; &two;\necho &one; &three;</post>",
                "b": "<main><lang>&Kickstart_Lang;</lang></main><post>echo &four;</post>"},
               graph='<edge from="a" to="b"/>')
    comp = KickstartCompiler(lib)
    missing = comp.undefined_attributes("a", attrs())
    assert [m.name for m in missing] == ["one", "two", "three", "four"]
    assert str(missing[0]).endswith("nodes/a.xml:2: undefined entity &one; (the host has no "
                                    "attribute 'one')")
    with pytest.raises(UndefinedAttributes) as e:
        comp.kickstart("a", attrs())
    assert e.value.missing == missing and e.value.line == 2
    assert str(e.value).endswith("undefined entity &one; (the host has no attribute 'one') "
                                 "(and 3 more: two, three, four)")
    assert comp.undefined_attributes("a", attrs(one="1", two="2", three="3", four="4")) == []
    lines = undefined_report(comp, [("c-0-0", "a", attrs(one="1")), ("c-0-1", "a", attrs()),
                                    ("c-0-2", "b", attrs())])
    assert len(lines) == 4 and all(": undefined entity &" in line for line in lines)
    four = next(line for line in lines if "&four;" in line)
    assert four.endswith("(hosts without attribute 'four': c-0-0, c-0-1, c-0-2)")
    one = next(line for line in lines if "&one;" in line)
    assert one.endswith("(hosts without attribute 'one': c-0-1)")
