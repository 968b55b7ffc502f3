"""cond= expressions: Rocks coercions, and no way to run Python through them."""

from __future__ import annotations

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
