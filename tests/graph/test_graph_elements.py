"""Each node-file element, in both dialects (Rocks 5.0 <var>, Rocks 5.2+ entities and cond=)."""

from __future__ import annotations

import re

import pytest

from ksserver.errors import GraphError, KickstartInvalid
from ksserver.graph import KickstartCompiler


def section(text: str, header: str) -> list[str]:
    """Bodies of every section whose header line starts with ``header``."""
    out = []
    for m in re.finditer(r"^(%s[^\n]*)\n(.*?)^%%end$" % re.escape(header), text, re.M | re.S):
        out.append(m.group(1) + "\n" + m.group(2))
    return out


def main_lines(text: str) -> list[str]:
    head = text.split("%packages")[0]
    return [line for line in head.splitlines() if line and not line.startswith("#")]


# -- <main> -----------------------------------------------------------------------------------
def test_main_directives_in_order_with_conditions(tree, compile_ks, attrs):
    lib = tree({"n": """
        <main>
            <text/>
            <lang>&Kickstart_Lang;</lang>
            <keyboard>&Kickstart_Keyboard;</keyboard>
            <timezone>&Kickstart_Timezone; --utc</timezone>
            <url>--url http://&Kickstart_PrivateKickstartHost;/&Kickstart_PrivateKickstartBasedir;/&distribution;/&arch;</url>
            <skipx cond="not x11"/>
            <xconfig cond="x11">--startxonboot</xconfig>
            <selinux arch="ia64">--disabled</selinux>
            <ksinclude>/tmp/partition-info</ksinclude>
            <rootpw>--iscrypted &Kickstart_PrivateRootPassword;</rootpw>
        </main>
        <main os="sunos"><reboot/></main>
        <main cond="x11"><firstboot>--disable</firstboot></main>
        """})
    host = attrs()
    assert main_lines(compile_ks(lib, "n", host)) == [
        "text", "lang en_US.UTF-8", "keyboard us", "timezone Etc/UTC --utc",
        "url --url http://10.1.1.1/install/rocks-dist/x86_64", "skipx",
        "%include /tmp/partition-info", f"rootpw --iscrypted {host['Kickstart_PrivateRootPassword']}",
    ]
    x11 = main_lines(compile_ks(lib, "n", attrs(x11="yes")))
    assert "xconfig --startxonboot" in x11 and "firstboot --disable" in x11 and "skipx" not in x11


def test_rocks_spellings(tree, compile_ks, attrs):
    lib = tree({"n": """
        <main>
            <lilo>--location=mbr</lilo>
            <install>
            %include /tmp/partition-info
            </install>
            <langsupport>en_US</langsupport>
            <interactive/>
        </main>
        """})
    # RHEL3 syntax: the last pykickstart version where none of these is deprecated
    assert main_lines(compile_ks(lib, "n", attrs(ks_version="RHEL3"))) == [
        "bootloader --location=mbr", "install", "%include /tmp/partition-info",
        "langsupport --default=en_US", "interactive"]


def test_directive_outside_main_counts(tree, compile_ks, attrs):
    # Rocks' generator walked the whole document for whitelisted tags (base-5.0 grub.xml)
    lib = tree({"n": "<bootloader>--location=partition</bootloader>"})
    assert main_lines(compile_ks(lib, "n", attrs())) == ["bootloader --location=partition"]


def test_unknown_main_directive_fails_the_load(tree):
    with pytest.raises(GraphError, match=r"unknown <main> directive <lnag>") as e:
        tree({"n": "<main>\n<lnag>en_US</lnag>\n</main>"})
    assert e.value.line == 3


def test_invalid_directive_names_its_node_file(tree, attrs):
    lib = tree({"n": "<main>\n  <text/>\n  <reboot>--bogus-option</reboot>\n</main>"})
    with pytest.raises(KickstartInvalid) as e:
        KickstartCompiler(lib).kickstart("n", attrs())
    assert e.value.path.endswith("nodes/n.xml") and e.value.line == 4
    assert "reboot --bogus-option" in e.value.reason


def test_deprecated_directive_is_an_error(tree, attrs):
    lib = tree({"n": "<main><install/></main>"})  # removed in RHEL9: ksvalidator fails it
    with pytest.raises(KickstartInvalid, match="install"):
        KickstartCompiler(lib).kickstart("n", attrs())


# -- <package> --------------------------------------------------------------------------------
def test_packages(tree, compile_ks, attrs):
    lib = tree({"a": """
        <package>zsh</package>
        <package type="meta">core</package>
        <package>nspr.&arch;</package>
        <package disable="yes">plymouth</package>
        <package disable="yes">cups</package>
        <package arch="ia64">elilo</package>
        <package cond="x11" type="meta">base-x</package>
        """, "b": """
        <package>cups</package>
        <package>zsh</package>
        <package disable="1" type="meta">dial-up</package>
        """}, graph='<edge from="a" to="b"/>')
    text = compile_ks(lib, "a", attrs())
    assert section(text, "%packages")[0].splitlines() == [
        "%packages --ignoremissing", "@core", "cups", "nspr.x86_64", "zsh", "-@dial-up", "-plymouth"]


def test_empty_package_is_an_error(tree, attrs):
    lib = tree({"a": "<package>\n</package>"})
    with pytest.raises(GraphError, match="empty <package>"):
        KickstartCompiler(lib).kickstart("a", attrs())


# -- <pre>/<post> -------------------------------------------------------------------------------
def test_scripts(tree, compile_ks, attrs):
    lib = tree({"n": """
        <pre>echo pre1</pre>
        <pre interpreter="/usr/bin/python3">print("pre2")</pre>
        <pre arg="--interpreter /usr/bin/python3">print("pre3")</pre>
        <post>echo post1</post>
        <post arg="--nochroot">cp /tmp/x /mnt/sysimage/tmp/x</post>
        <post interpreter="/usr/bin/perl">print "post3\\n";</post>
        <post os="sunos">echo never</post>
        <post cond="x11">echo never either</post>
        <configure>echo configure is a post</configure>
        <post><post-unknown-child-is-only-an-error-if-used cond="x11"/></post>
        """})
    text = compile_ks(lib, "n", attrs())
    pre = section(text, "%pre")
    assert [p.splitlines()[0] for p in pre] == [
        "%pre", "%pre --interpreter=/usr/bin/python3", "%pre --interpreter /usr/bin/python3"]
    assert pre[0].splitlines()[1] == "# nodes/n.xml:2 (test)"  # line 1 is <kickstart>
    post = section(text, "%post")
    assert [p.splitlines()[0] for p in post] == [
        "%post", "%post --nochroot", "%post --interpreter=/usr/bin/perl", "%post"]
    assert "echo never" not in text
    assert post[3].splitlines()[-1] == "echo configure is a post"


def test_script_body_keeps_indentation(tree, compile_ks, attrs):
    lib = tree({"n": '<post interpreter="/usr/bin/python3">\n\n    if True:\n        print(1)\n</post>'})
    body = section(compile_ks(lib, "n", attrs()), "%post")[0].splitlines()
    assert body[2:] == ["    if True:", "        print(1)"]


def test_unknown_element_in_script_errors_only_when_used(tree, attrs):
    lib = tree({"n": """
        <post os="sunos"><service name="network/http"/></post>
        <post>echo
        <service name="x"/>
        </post>
        """})
    with pytest.raises(GraphError, match=r"<service> is not allowed here") as e:
        KickstartCompiler(lib).kickstart("n", attrs())
    assert e.value.line == 4


# -- <file> ---------------------------------------------------------------------------------------
def test_file_literal_and_expanded(tree, compile_ks, attrs):
    lib = tree({"n": """
        <post>
        <file name="/etc/motd" mode="append">
        Welcome to &hostname; $HOME `date`
        </file>
        <file name="/etc/issue" vars="expanded" perms="0644" owner="root.root">
        Kickstarted `date +%Y` on $HOSTNAME
        </file>
        <file name="/etc/empty"/>
        <file name="/etc/more" mode="append"/>
        <file name="/tmp/grub.conf" expr="grep -v splashimage /boot/grub/grub.conf"/>
        <file name="/tmp/x y" perms="600">a</file>
        <file name="/etc/issue">second write inherits perms and owner</file>
        </post>
        """})
    text = compile_ks(lib, "n", attrs(hostname="c9"))
    body = section(text, "%post")[0]
    motd = re.search(r"cat >> /etc/motd << '(KSEOF_\w+)'\nWelcome to c9 \$HOME `date`\n\1\n", body)
    assert motd, body
    issue = re.search(r"cat > /etc/issue << (KSEOF_\w+)\nKickstarted `date \+%Y` on \$HOSTNAME\n\1\n"
                      r"chmod 0644 /etc/issue\nchown root:root /etc/issue\n", body)
    assert issue, body
    assert ": > /etc/empty\n" in body and "touch /etc/more\n" in body
    assert "grep -v splashimage /boot/grub/grub.conf > /tmp/grub.conf\n" in body
    assert "cat > '/tmp/x y' << 'KSEOF_" in body and "chmod 600 '/tmp/x y'" in body
    assert body.count("chown root:root /etc/issue") == 2


def test_file_delimiter_avoids_content(tree, compile_ks, attrs):
    lib = tree({"n": "<post><file name='/x'>EOF\nKSEOF_\n</file></post>"})
    body = section(compile_ks(lib, "n", attrs()), "%post")[0]
    delim = re.search(r"<< '(KSEOF_[0-9a-f]{12})'", body).group(1)
    assert body.count("\n" + delim + "\n") == 1


def test_file_needs_a_shell_script(tree, attrs):
    lib = tree({"n": '<post interpreter="/usr/bin/python3">\n<file name="/x">y</file>\n</post>'})
    with pytest.raises(GraphError, match="needs a shell script") as e:
        KickstartCompiler(lib).kickstart("n", attrs())
    assert e.value.line == 3


def test_file_in_pre_works(tree, compile_ks, attrs):
    # Rocks forbade it because of RCS; ksserver's <file> is plain shell
    lib = tree({"n": '<pre><file name="/tmp/db.py">host = "&hostname;"</file></pre>'})
    assert 'host = "compute-0-0"' in section(compile_ks(lib, "n", attrs()), "%pre")[0]


@pytest.mark.parametrize("xml, message", [
    ('<file mode="pipe" name="/x">tr a b</file>', "not supported"),
    ('<file name="/x" src="/etc/hosts"/>', "not supported"),
])
def test_file_unsupported_variants(tree, attrs, xml, message):
    lib = tree({"n": f"<post>{xml}</post>"})
    with pytest.raises(GraphError, match=message):
        KickstartCompiler(lib).kickstart("n", attrs())


@pytest.mark.parametrize("xml, message", [
    ("<file>x</file>", "needs a name"),
    ('<file name="/x" mode="truncate">x</file>', "mode must be"),
    ('<file name="/x" vars="maybe">x</file>', "vars must be"),
    ('<eval mode="json">x</eval>', "mode must be"),
    ("<var/>", "needs a name"),
])
def test_static_mistakes_fail_the_load(tree, xml, message):
    with pytest.raises(GraphError, match=message):
        tree({"n": f"<post>{xml}</post>"})


# -- <var> (Rocks 5.0) ---------------------------------------------------------------------------
def test_var_dialect(tree, compile_ks, attrs):
    lib = tree({"a": """
        <var name="Kickstart_Grub" val="--location=mbr"/>
        <main>
            <bootloader><var name="Kickstart_Grub"/></bootloader>
            <lang><var name="Kickstart_Lang"/></lang>
        </main>
        <post>
        echo <var name="Node_Hostname"/> <var name="Node_Address"/> <var name="Node_Membership"/>
        echo <var name="Node_Architecture"/> <var name="Node_OS"/> <var name="Node_Distribution"/>
        echo [<var name="Undefined_Thing"/>] <var name="Kickstart_PublicHostname"/> <var name="Info_ClusterName"/>
        <var name="Copy" ref="Kickstart_Grub"/><var name="Host2" ref="hostname"/>echo <var name="Copy"/> <var name="Host2"/>
        </post>
        """, "b": """
        <post>echo <var name="Kickstart_Grub"/> &Node_Hostname; &hostname;</post>
        """}, graph='<edge from="a" to="b"/>')
    text = compile_ks(lib, "a", attrs(hostname="c-0-1"))
    assert "bootloader --location=mbr" in main_lines(text)
    assert "lang en_US.UTF-8" in main_lines(text)
    posts = section(text, "%post")
    assert posts[0].splitlines()[2:] == [
        "echo c-0-1 10.1.255.254 Compute",
        "echo x86_64 linux rocks-dist/x86_64",
        "echo [] frontend.example.org Test Cluster",
        "echo --location=mbr c-0-1",
    ]
    # assignments carry over to later nodes; entities of both dialects resolve
    assert posts[1].splitlines()[2] == "echo --location=mbr c-0-1 c-0-1"


def test_var_read_in_5_0_uses_aliases_both_ways(tree, compile_ks, attrs):
    lib = tree({"n": "<post>echo <var name='hostname'/> &Node_Hostname;</post>"})
    host = attrs()
    del host["hostname"]
    host["Node_Hostname"] = "old-style"
    assert "echo old-style old-style" in compile_ks(lib, "n", host)


# -- other elements ------------------------------------------------------------------------------
def test_documentation_and_debug(tree, compile_ks, attrs):
    lib = tree({"n": """
        <description>any &amp; text</description>
        <changelog>$Log$</changelog>
        <copyright>(c)</copyright>
        <debug>checked on
        <var name="hostname"/></debug>
        <screen><title>Rocks installer screen</title></screen>
        <post>echo</post>
        """})
    text = compile_ks(lib, "n", attrs())
    assert "# checked on\n# compute-0-0\n" in text


@pytest.mark.parametrize("xml, message", [
    ('<include file="javascript/x.js"/>', "not supported|unsupported"),
    ('<sinclude file="x"/>', "unsupported"),
    ('<copy src="/etc/hosts" dst="/etc/hosts"/>', "unsupported"),
    ("<boot>echo</boot>", "unsupported"),
    ("<eval>echo</eval>", "top-level <eval> is not supported"),
    ("<frobnicate/>", "unknown element <frobnicate>"),
])
def test_unsupported_elements(tree, attrs, xml, message):
    lib = tree({"n": f"<post>echo</post>\n{xml}"})
    with pytest.raises(GraphError, match=message) as e:
        KickstartCompiler(lib).kickstart("n", attrs())
    assert e.value.line == 3


def test_unsupported_element_under_false_condition_is_ignored(tree, compile_ks, attrs):
    lib = tree({"n": '<post>echo</post>\n<copy os="sunos" src="/a" dst="/b"/>'})
    compile_ks(lib, "n", attrs())


def test_bad_cond_fails_the_load_with_line(tree):
    with pytest.raises(GraphError, match=r"bad cond='x11 and \(': expression ends too early") as e:
        tree({"n": '<post>\necho\n</post>\n<post cond="x11 and (">x</post>'})
    assert e.value.line == 5 and e.value.path.endswith("nodes/n.xml")


def test_entity_in_cond_is_refused(tree):
    with pytest.raises(GraphError, match="not allowed in cond="):
        tree({"n": '<post cond="&x11;">x</post>'})
