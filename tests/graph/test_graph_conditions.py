"""cond= expressions: Rocks coercions, and no way to run Python through them."""

from __future__ import annotations

import re

import pytest

from ksserver.graph.conditions import Condition, CondSyntaxError, Expression, coerce


@pytest.mark.parametrize("value, expected", [
    ("on", True), ("TRUE", True), ("Yes", True), ("y", True),
    ("off", False), ("False", False), ("NO", False), ("n", False),
    ("6", 6), ("-3", -3), ("6.1", 6.1), (".5", 0.5), ("1e3", 1000.0),
    ("compute", "compute"), ("", ""), (None, None), ("inf", "inf"), ("0x10", "0x10"),
])
def test_coercion(value, expected):
    result = coerce(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("expr, attrs, expected", [
    ("x11", {"x11": "true"}, True),
    ("x11", {"x11": "off"}, False),
    ("x11", {}, False),                                  # undefined -> None -> false
    ("not ssh_use_dns", {"ssh_use_dns": "false"}, True),
    ("not ssh_use_dns", {}, True),
    ("appliance != 'devel-server'", {"appliance": "compute"}, True),
    ("appliance != 'devel-server'", {"appliance": "devel-server"}, False),
    ('appliance == "compute"', {"appliance": "compute"}, True),
    ("rocks_version_major >= 6", {"rocks_version_major": "6"}, True),
    ("rocks_version_major > 5", {"rocks_version_major": "5"}, False),
    ("rocks_version_major == 5", {"rocks_version_major": "5.0"}, True),
    ("rocks_version_major >= 6", {}, False),             # None >= 6: incompatible -> false
    ("rank < 10", {"rank": "compute"}, False),            # str < int: false, not an exception
    ("1 < rank < 10", {"rank": "5"}, True),
    ("1 < rank < 10", {"rank": "50"}, False),
    ("xen or kvm", {"kvm": "yes"}, True),
    ("xen and kvm", {"xen": "yes", "kvm": "no"}, False),
    ("(xen or kvm) and not x11", {"xen": "1", "x11": "0"}, True),
    ("cpus == 4 and arch == 'x86_64'", {"cpus": "4", "arch": "x86_64"}, True),
    ("True", {}, True), ("None", {}, False),
    ("hostname", {"Node_Hostname": "c-0-0"}, True),      # Rocks 5.0 name as alias
    ("Node_Architecture == 'x86_64'", {"arch": "x86_64"}, True),
])
def test_evaluate(expr, attrs, expected):
    assert Expression(expr).evaluate(attrs) is expected


@pytest.mark.parametrize("expr", [
    "__import__('os').system('touch /tmp/pwned')",
    "open('/etc/passwd')",
    "x.__class__",
    "().__class__.__bases__[0]",
    "x[0]",
    "lambda: 1",
    "x if y else z",
    "a + b",
    "exec('1')",
    "x11 and",
    "(x11",
    "x11)",
    "",
    "a = 1",
    "'unterminated",
    "not",
    "a == == b",
    "(" * 100 + "x" + ")" * 100,
])
def test_rejected(expr, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CondSyntaxError):
        Expression(expr)
    assert not (tmp_path / "pwned").exists()


def test_error_column():
    with pytest.raises(CondSyntaxError) as e:
        Expression("x11 and __import__('os')")
    assert e.value.column == len("x11 and __import__") + 1


def test_names_are_collected():
    assert Expression("(xen or kvm) and rank > 2").names == {"xen", "kvm", "rank"}


def test_legacy_lists():
    c = Condition(arch="i386, x86_64", os="linux", cond="x11")
    assert c.names == {"arch", "os", "x11"}
    assert c.evaluate({"arch": "x86_64", "os": "linux", "x11": "yes"})
    assert not c.evaluate({"arch": "ia64", "os": "linux", "x11": "yes"})
    assert not c.evaluate({"arch": "x86_64", "os": "sunos", "x11": "yes"})
    assert Condition(arch="i386,ia64").evaluate({"Node_Architecture": "ia64"})
    assert not Condition(release="6.1").evaluate({})
    assert not Condition()  # empty: no condition


# -- the Python comparison forms Rocks 6.2 / 7.0 files use (issue #10) ----------------------
@pytest.mark.parametrize("expr, attrs, expected", [
    # is / is not: base-6.2/nodes/base.xml:467 and friends
    ("rocks_version_major == 5 and Bootloader is None", {"rocks_version_major": "5"}, True),
    ("rocks_version_major == 5 and Bootloader is None",
     {"rocks_version_major": "5", "Bootloader": "grub"}, False),
    ("Bootloader is not None", {"Bootloader": "grub2"}, True),
    ("Bootloader is not None", {}, False),
    ("x11 is True", {"x11": "yes"}, True),
    ("x11 is True", {"x11": "1"}, False),               # 1 is an int, not True
    # in / not in, with tuples, lists and strings
    ("appliance in ('compute', 'login')", {"appliance": "login"}, True),
    ("appliance in ('compute', 'login')", {"appliance": "nas"}, False),
    ("appliance not in ['compute', 'login']", {"appliance": "nas"}, True),
    ("rocks_version_major in (6, 7)", {"rocks_version_major": "7"}, True),
    ("'gpu' in appliance", {"appliance": "compute-gpu"}, True),
    ("'gpu' in appliance", {}, False),                   # 'gpu' in None: refused -> False
    ("'gpu' not in appliance", {}, False),
    ("appliance in ()", {"appliance": "x"}, False),
    ("appliance in ('nas',)", {"appliance": "nas"}, True),
    # chained comparisons, parentheses, literals
    ("6 <= rocks_version_major < 8", {"rocks_version_major": "7"}, True),
    ("6 <= rocks_version_major < 8", {"rocks_version_major": "8"}, False),
    ("not (version >= 7)", {"version": "6.2"}, True),
    ("(a or b) and (c is None)", {"b": "yes"}, True),
    ("release == \"7.0\"", {"release": "7.0"}, False),   # coerced to 7.0 the float
    ("release == 7.0", {"release": "7.0"}, True),
    ("False is False and None is None", {}, True),
])
def test_python_comparison_forms(expr, attrs, expected):
    assert Expression(expr).evaluate(attrs) is expected


@pytest.mark.parametrize("expr, column, message", [
    ("open('/etc/passwd')", 5, "a call"),
    ("x11 and os.system('id')", 11, "attribute access"),
    ("appliance.__class__", 10, "attribute access"),
    ("attrs['x']", 6, "a subscript"),
    ("(1, 2)[0]", 7, "a subscript"),
    ("lambda: 1", 1, "'lambda' is not allowed"),
    ("x if y else z", 3, "'if' is not allowed"),
    ("__import__('os')", 11, "a call"),
    ("x is", 5, "ends too early"),
    ("x not y", 3, "unexpected 'not'"),
    ("(1, 2", 6, "expected ',' or ')'"),
])
def test_refusals_name_the_column(expr, column, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CondSyntaxError, match=re.escape(message)) as e:
        Expression(expr)
    assert e.value.column == column
    assert not list(tmp_path.iterdir())


def test_bad_cond_in_a_file_names_file_line_and_column(tree):
    from ksserver.errors import GraphError

    body = ('<kickstart>\n<package>a</package>\n<post\n   arg="--nochroot"  '
            'cond="rocks_version_major &gt;= 6 and open(\'x\')">\necho\n</post>\n</kickstart>')
    with pytest.raises(GraphError, match=r"a call \('\('\) is not allowed") as e:
        tree({"a": body})
    line = body.splitlines()[3]
    assert e.value.path.endswith("nodes/a.xml") and e.value.line == 4
    assert e.value.column == line.index("open(") + len("open(")  # 1-based column of '('
    assert str(e.value).startswith(f"{e.value.path}:4:{e.value.column}: bad cond=")


def test_bad_cond_in_a_graph_file(tree):
    from ksserver.errors import GraphError

    graph = '<graph>\n  <edge from="a">\n    <to cond="x.y">b</to>\n  </edge>\n</graph>'
    with pytest.raises(GraphError, match="attribute access") as e:
        tree({"a": "<package>a</package>", "b": "<package>b</package>"}, graph=graph)
    assert (e.value.line, e.value.column) == (3, len('    <to cond="x') + 1)
