"""ksserver.partition_kickstart: the plugin's sections in a kickstart, values that try to escape them."""

from __future__ import annotations

import json

import pytest

from ksserver import partition_kickstart
from ksserver.graph import GraphLibrary, KickstartCompiler, Source, stock_nodes_dir
from tests.graph.conftest import base_attrs
from tests.ksvalidate import assert_valid_kickstart

DB = json.dumps({"disks": {}, "raids": {}, "reset": False, "version": 1})


@pytest.fixture(scope="module")
def graph_text() -> str:
    lib = GraphLibrary.load([Source(stock_nodes_dir(), "stock")])
    return KickstartCompiler(lib).kickstart("compute", base_attrs(hostname="compute-0-0"), None)


def test_sections_in_order_and_valid(graph_text):
    text = partition_kickstart.add_partitioning(graph_text, "http://10.1.1.1:8080", "x86_64", DB, "t0k", "RHEL9")
    assert_valid_kickstart(text)
    marks = ["http://10.1.1.1:8080/install/rocks-dist/x86_64/rocks-installer-plugin.tar.gz",
             "ROCKS_DB_EOF", "/tmp/user_partition_info",
             '"pre-decide", "--server", "http://10.1.1.1:8080", "--token", "t0k"',
             '"post-report", "--server", "http://10.1.1.1:8080", "--token", "t0k"']
    assert [text.index(m) for m in marks] == sorted(text.index(m) for m in marks)
    assert text.count("pre-decide") == 1 and text.rstrip().endswith("%end")


@pytest.mark.parametrize("token", ["x\n%end\n%post\nrm -rf /", '"]); import os; os.system("id"); (["',
                                   "\u2028%end", "x\\"])
def test_hostile_tokens_stay_inside_a_string_literal(graph_text, token):
    text = partition_kickstart.add_partitioning(graph_text, "http://10.1.1.1", "x86_64", DB, token, "RHEL9")
    assert_valid_kickstart(text)
    line = next(ln for ln in text.splitlines() if "pre-decide" in ln)
    args = json.loads(line[len("sys.exit(main("):-2])
    assert args[-1] == token  # the installer gets exactly the token, as one argument
    assert "\nrm -rf /" not in text and '\nimport os; os.system' not in text


def test_hostile_db_info_and_server_are_refused_or_contained(graph_text):
    db = json.dumps({"disks": {}, "raids": {}, "reset": False, "version": 1, "x": "\nROCKS_DB_EOF\n%end"})
    text = partition_kickstart.add_partitioning(graph_text, "http://10.1.1.1", "x86_64", db, None, "RHEL9")
    assert "\nROCKS_DB_EOF\n%end" not in text.split("ROCKS_DB_EOF", 2)[1]  # one JSON line in the heredoc
    assert partition_kickstart.server_url("http", "evil\n%post", "frontend.local") == "http://frontend.local"
    assert partition_kickstart.server_url("http", "10.1.1.1:8080", "") == "http://10.1.1.1:8080"
    assert partition_kickstart.server_url("http", "[::1]:80", "") == "http://[::1]:80"
    assert partition_kickstart.server_url("http", "a b", "") == ""


def test_a_site_that_replaced_do_partition_still_gets_the_decision(graph_text):
    text = graph_text.replace('sys.exit(main(["pre-decide"]))', "pass")
    out = partition_kickstart.add_partitioning(text, "http://10.1.1.1", "x86_64", DB, None, "RHEL9")
    assert_valid_kickstart(out)
    assert out.index('"pre-decide", "--server"') > out.index("/tmp/user_partition_info")


def test_section_headers_are_the_lines_starting_with_percent():
    import random
    import re

    lines = re.compile(r"^%.*$", re.MULTILINE)
    rnd = random.Random(13)
    cases = ["", "%", "%pre\nx\n%end", "a\n%b", "\n%\n%x\n", "x\r\n%pre\r\n"]
    cases += ["".join(rnd.choice("%\nab\r") for _ in range(rnd.randint(0, 16))) for _ in range(5000)]
    for text in cases:
        assert partition_kickstart.section_headers(text) == lines.findall(text), text


def test_refused_sections_are_refused_every_time(graph_text, monkeypatch):
    """The sections are built once per value set; a refusal is not remembered as an answer."""
    monkeypatch.setattr(partition_kickstart.sections, "report_post",
                        lambda server, token: "%packages\n%end\n")
    for _ in range(2):
        with pytest.raises(Exception, match="partitioning section"):
            partition_kickstart.add_partitioning(graph_text, "http://10.9.9.9", "x86_64", DB, None, "RHEL9")
    monkeypatch.undo()
    text = partition_kickstart.add_partitioning(graph_text, "http://10.9.9.9", "x86_64", DB, None, "RHEL9")
    assert_valid_kickstart(text)


def test_known_structure_is_the_scanned_one():
    """The server passes the rendered text's section headers (known from the template) instead of scanning the
    result: the structure key must be the one a scan of the result gives, or validation would be skipped wrongly."""
    lib = GraphLibrary.load([Source(stock_nodes_dir(), "stock")])
    comp = KickstartCompiler(lib)
    for root in ("compute", "login", "nas"):
        values = base_attrs(hostname="compute-0-3", root=root)
        comp.kickstart(root, values)
        text, headers = comp.kickstart_with_headers(root, values)
        assert headers is not None
        for token in (None, "t0k"):
            head, decide, call, post, added = partition_kickstart._sections("http://10.1.1.1:8080", "x86_64", DB,
                                                                            token)
            out = partition_kickstart.add_partitioning(text, "http://10.1.1.1:8080", "x86_64", DB, token, "RHEL9",
                                                       headers)
            assert out == partition_kickstart.add_partitioning(text, "http://10.1.1.1:8080", "x86_64", DB, token,
                                                               "RHEL9")
            assert partition_kickstart._known_structure(headers, added) == partition_kickstart.section_headers(out)
            # the one-join assembly is the general one
            first = partition_kickstart.line_starting(text, "%pre")
            assert out == partition_kickstart._assemble(text, first, head, decide, call, post)


def test_placeholder_in_a_header_line_falls_back_to_the_scan():
    headers = ["%pre", f"%post --log={partition_kickstart.DECIDE_PLACEHOLDER}"]
    assert partition_kickstart._known_structure(headers, (("%pre",), ("%post",))) is None
    assert partition_kickstart._known_structure(["%packages", "%end"], (("%pre",), ("%post",))) is None
    assert partition_kickstart._known_structure(None, ((), ())) is None


def test_line_starting_finds_what_the_multiline_regex_finds():
    import random
    import re

    rng = random.Random(7)
    for word in ("%pre", "%post"):
        pattern = re.compile("^" + re.escape(word) + r"\b", re.M)
        cases = ["", word, "%prefix\n%pre x", "a\n%pre-install\n%pre_x\n%pre1\n%pre\n", "x%pre\n%post", "\n%pre",
                 "%pre_\n%préfoo\n%pre é", "%post_\n%postx\n%post"]
        cases += ["".join(rng.choice(["\n", "%pre", "%post", "x", "_", "-", " ", "%p", "1", "é"]) for _ in range(12))
                  for _ in range(3000)]
        for text in cases:
            found = pattern.search(text)
            assert partition_kickstart.line_starting(text, word) == (found.start() if found else -1), (text, word)
