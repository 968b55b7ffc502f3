"""<eval>: run on the server per render, with the host's attributes as environment."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ksserver.errors import GraphError, KickstartInvalid
from ksserver.graph import KickstartCompiler


def test_environment_and_per_host_output(tree, compile_ks, attrs):
    lib = tree({"n": """
        <post>
        <eval shell="sh" extra="from-element">
        echo "host=$hostname cluster=$Info_ClusterName mac=$HTTP_X_RHN_PROVISIONING_MAC_0 el=$extra"
        echo "entity=&hostname;"
        </eval>
        </post>
        """})
    env = {"HTTP_X_RHN_PROVISIONING_MAC_0": "eth0 52:54:00:12:34:56 virtio_net ks"}
    comp = KickstartCompiler(lib)
    first = comp.kickstart("n", attrs(hostname="c-0-0"), env)
    assert "host=c-0-0 cluster=Test Cluster mac=eth0 52:54:00:12:34:56 virtio_net ks el=from-element" in first
    assert "entity=c-0-0" in first
    second = comp.kickstart("n", attrs(hostname="c-0-1"), env)  # same template, eval runs again
    assert "host=c-0-1" in second and "c-0-0" not in second
    assert comp.cache_info()["templates"] == 1


def test_eval_runs_on_every_render(tree, attrs):
    import tempfile

    # A folder the eval user (nobody, when tests run as root) may write: pytest's tmp_path is private.
    shared = tempfile.TemporaryDirectory(prefix="ksserver-eval-")
    Path(shared.name).chmod(0o1777)
    counter = Path(shared.name) / "count"
    lib = tree({"n": f"<post><eval>echo x >> {counter}; wc -l &lt; {counter}</eval></post>"})
    comp = KickstartCompiler(lib)
    for _ in range(3):
        comp.kickstart("n", attrs())
    assert counter.read_text().count("x") == 3
    shared.cleanup()


def test_interpreter_shell(tree, compile_ks, attrs):
    lib = tree({"n": '<post>\n<eval shell="python3 -I">import os; print(os.environ["rank"] * 3)</eval>\n</post>'})
    assert "\n777\n" in compile_ks(lib, "n", attrs(rank="7"))


def test_failing_eval_names_file_and_line(tree, attrs):
    lib = tree({"n": "<post>\necho\n<eval>echo oops >&amp;2; exit 3</eval>\n</post>"})
    with pytest.raises(GraphError, match=r"<eval> exited with status 3: oops") as e:
        KickstartCompiler(lib).kickstart("n", attrs())
    assert e.value.path.endswith("nodes/n.xml") and e.value.line == 4


def test_missing_shell(tree, attrs):
    lib = tree({"n": '<post><eval shell="/no/such/shell">x</eval></post>'})
    with pytest.raises(GraphError, match="cannot start"):
        KickstartCompiler(lib).kickstart("n", attrs())


def test_timeout(tree, attrs):
    lib = tree({"n": "<post>\n<eval>sleep 30 &amp; sleep 30</eval>\n</post>"})
    start = time.monotonic()
    with pytest.raises(GraphError, match=r"timed out after 0.3 s") as e:
        KickstartCompiler(lib, eval_timeout=0.3).kickstart("n", attrs())
    assert time.monotonic() - start < 5
    assert e.value.line == 3


def test_disabled_evals_become_comments(tree, compile_ks, attrs, tmp_path):
    marker = tmp_path / "ran"
    lib = tree({"n": f"""
        <main>
        <rootpw>--iscrypted <eval>touch {marker}; echo x</eval></rootpw>
        <lang>en_US</lang>
        </main>
        <post>
        echo before <eval>touch {marker}</eval> after
        <file name="/etc/x">line <eval>touch {marker}</eval></file>
        </post>
        """})
    text = compile_ks(lib, "n", attrs(), evals=False)
    assert not marker.exists()
    assert "# rootpw skipped: it holds an <eval> (nodes/n.xml:3) and evals are disabled" in text
    assert "lang en_US" in text
    assert "echo before \n# ksserver: <eval> at nodes/n.xml:7 skipped (evals disabled)\n after" in text
    assert "line \n# ksserver: <eval> at nodes/n.xml:8 skipped (evals disabled)\n" in text


def test_eval_in_main_directive(tree, compile_ks, attrs):
    lib = tree({"n": "<main><rootpw>--iscrypted <eval>echo '$6$abc$def'</eval></rootpw></main>"})
    assert "rootpw --iscrypted $6$abc$def" in compile_ks(lib, "n", attrs())


def test_eval_in_file_content(tree, compile_ks, attrs):
    lib = tree({"n": "<post><file name='/etc/born-on'>\n<eval>echo built-by-eval</eval></file></post>"})
    text = compile_ks(lib, "n", attrs())
    assert "cat > /etc/born-on << 'KSEOF_" in text and "\nbuilt-by-eval\n" in text


def test_xml_mode_output_is_spliced(tree, compile_ks, attrs):
    lib = tree({"n": """
        <post>
        <eval mode="xml">
        echo '&lt;file name="/etc/from-eval" perms="0600"&gt;host &amp;hostname; &amp;amp; more&lt;/file&gt;'
        echo 'echo plain &amp;lt;text&amp;gt;'
        echo '&lt;var name="hostname"/&gt;'
        </eval>
        </post>
        """})
    text = compile_ks(lib, "n", attrs(hostname="c-3-3"))
    assert "cat > /etc/from-eval << 'KSEOF_" in text
    assert "\nhost c-3-3 & more\n" in text and "chmod 0600 /etc/from-eval" in text
    assert "echo plain <text>" in text and "\nc-3-3\n" in text


def test_xml_mode_malformed_output(tree, attrs):
    lib = tree({"n": "<post>\n<eval mode='xml'>echo '&lt;file'</eval>\n</post>"})
    with pytest.raises(GraphError, match="not well-formed XML") as e:
        KickstartCompiler(lib).kickstart("n", attrs())
    assert e.value.line == 3


def test_eval_output_that_breaks_the_kickstart(tree, attrs):
    lib = tree({"n": "<post>\n<eval>printf '%%end\\nfrobnicate --now\\n'</eval>\n</post>"})
    with pytest.raises(KickstartInvalid, match="frobnicate") as e:
        KickstartCompiler(lib).kickstart("n", attrs())
    assert e.value.path.endswith("nodes/n.xml")


def test_eval_output_cannot_end_a_heredoc(tree, attrs):
    lib = tree({"n": "<post><file name='/x'>\n<eval>echo KSEOF_; echo x</eval></file></post>"})
    comp = KickstartCompiler(lib)
    text = comp.kickstart("n", attrs())  # a different line is harmless
    delim = text.split("<< '")[1].split("'")[0]
    lib2 = tree({"n": f"<post><file name='/x'>\n<eval>echo {delim}</eval></file></post>"})
    with pytest.raises(GraphError, match="ends a <file> here-document early"):
        KickstartCompiler(lib2).kickstart("n", attrs())


def test_secret_attribute_names():
    from ksserver.values import is_secret_attr

    for name in ("Kickstart_PrivateRootPassword", "db_passwd", "API_TOKEN", "ssh_private_key",
                 "SSHPrivateKey", "site_secret", "Password"):
        assert is_secret_attr(name), name
    for name in ("hostname", "Kickstart_PrivateAddress", "Info_ClusterName", "rank", "ks_version"):
        assert not is_secret_attr(name), name


def test_eval_runs_unprivileged_without_secrets(tree, attrs):
    """Issue #9 item 9: an eval never runs as root and never sees the root hash, tokens or keys."""
    import os
    import pwd

    lib = tree({"n": """<post>
        <eval>echo "uid=$(id -u) groups=$(id -G) cwd=$(pwd)"; env | sort</eval>
        </post>"""})
    secrets = {"Kickstart_PrivateRootPassword": "$6$salt$HASH", "vault_token": "tok-123",
               "ssh_private_key": "-----BEGIN KEY-----", "ldap_bind_password": "pw-456"}
    text = KickstartCompiler(lib).kickstart("n", attrs(**secrets))
    for value in ("HASH", "tok-123", "BEGIN KEY", "pw-456"):
        assert value not in text
    assert "hostname=" in text  # ordinary attributes are still there
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        assert f"uid={nobody.pw_uid} groups={nobody.pw_gid} cwd=/" in text
    else:
        assert f"uid={os.geteuid()}" in text  # nothing to drop


def test_eval_user_root_or_missing_is_refused(tree, attrs):
    import os

    lib = tree({"n": "<post><eval>id -u</eval></post>"})
    if os.geteuid() != 0:
        assert KickstartCompiler(lib, eval_user="root").kickstart("n", attrs())  # no privilege to drop
        return
    with pytest.raises(GraphError, match="is root"):
        KickstartCompiler(lib, eval_user="root").kickstart("n", attrs())
    with pytest.raises(GraphError, match="does not exist"):
        KickstartCompiler(lib, eval_user="no-such-user-here").kickstart("n", attrs())
