"""The foundation commands against SQLite and a real PostgreSQL (the db_url fixture is parametrized)."""

from __future__ import annotations

import json

MEMBERSHIPS = """\
MEMBERSHIP         APPLIANCE
Frontend:          frontend
Ethernet Switches: network
Power Units:       power
Remote Management: manager
NAS Appliance:     nas
Compute:           compute
VM Container:      vm-container
"""


def test_init_creates_stock_memberships_exactly(rocks):
    first = rocks("init")
    assert first.code == 0, first
    assert "root password" in first.out
    result = rocks("list", "membership")
    assert result.code == 0, result
    assert result.out == MEMBERSHIPS


def test_init_is_idempotent_and_keeps_admin_changes(rocks):
    assert rocks("init").code == 0
    assert rocks("set", "attr", "Kickstart_Timezone", "Europe/Paris").code == 0
    hash_before = rocks("list", "attr", "output-format=json").out
    again = rocks("init")
    assert again.code == 0, again
    assert "root password" not in again.out  # generated once only
    assert rocks("list", "membership").out == MEMBERSHIPS
    assert rocks("list", "attr", "output-format=json").out == hash_before


def test_init_creates_networks_and_frontend_attributes(rocks):
    rocks("init")
    nets = json.loads(rocks("list", "network", "output-format=json").out)
    assert {n["network"]: (n["subnet"], n["netmask"]) for n in nets}["private"] == ("10.1.0.0", "255.255.0.0")
    attrs = {a["attr"]: a["value"] for a in json.loads(rocks("list", "attr", "output-format=json", "secrets=yes").out)}
    for name in ("Kickstart_PrivateAddress", "Kickstart_PrivateKickstartHost", "Kickstart_Lang",
                 "Kickstart_Keyboard", "Kickstart_Timezone", "Kickstart_PublicHostname", "Info_ClusterName"):
        assert attrs[name], name
    assert attrs["Kickstart_PrivateRootPassword"].startswith("$6$")


def test_add_host_infers_membership_rack_and_rank(cluster):
    result = cluster("add", "host", "compute-2-7")
    assert result.code == 0, result
    hosts = {h["host"]: h for h in json.loads(cluster("list", "host", "output-format=json").out)}
    assert hosts["compute-2-7"]["membership"] == "Compute"
    assert (hosts["compute-2-7"]["rack"], hosts["compute-2-7"]["rank"]) == (2, 7)


def test_add_host_without_name_takes_next_rank_in_rack(cluster):
    assert cluster("add", "host", "membership=compute", "rack=0").code == 0
    assert cluster("add", "host", "membership=Compute", "rack=3").code == 0
    names = {h["host"] for h in json.loads(cluster("list", "host", "output-format=json").out)}
    assert {"compute-0-2", "compute-3-0"} <= names


def test_ip_allocation_walks_down_from_broadcast(cluster):
    ifaces = {(i["host"], i["iface"]): i["ip"]
              for i in json.loads(cluster("list", "host", "interface", "output-format=json").out)}
    assert ifaces[("compute-0-0", "eth0")] == "10.1.255.254"
    assert ifaces[("compute-0-1", "eth0")] == "10.1.255.253"
    assert ifaces[("frontend", "eth0")] == "10.1.1.1"


def test_list_host_table_is_aligned(cluster):
    out = cluster("list", "host", "compute-0-0", "compute-0-1").out.splitlines()
    assert out[0].split() == ["HOST", "MEMBERSHIP", "CPUS", "RACK", "RANK", "ARCH", "OS", "RUNACTION",
                              "INSTALLACTION"]
    assert out[1].startswith("compute-0-0: Compute")
    assert out[0].index("MEMBERSHIP") == out[1].index("Compute") == out[2].index("Compute")


def test_duplicate_mac_is_refused_and_nothing_is_written(cluster):
    result = cluster("add", "host", "compute-0-9", "mac=52-54-00-00-01-00")
    assert result.code != 0
    assert result.err.startswith("error: MAC 52:54:00:00:01:00 is already used by compute-0-0")
    assert "Traceback" not in result.err
    assert cluster("list", "host", "compute-0-9").code == 2  # the host row was rolled back too


def test_bad_input_gets_one_clear_line(cluster):
    cases = [
        (("list", "host", "nosuch-host"), "unknown host 'nosuch-host'"),
        (("add", "host", "compute-0-9", "ip=10.1.300.1"), "invalid IP address '10.1.300.1'"),
        (("add", "host", "compute-0-9", "ip=10.2.0.5"), "not inside network private"),
        (("add", "host", "compute-0-9", "mac=zz:00"), "invalid MAC address"),
        (("add", "host", "compute-0-9", "colour=blue"), "has no parameter 'colour'"),
        (("add", "host", "compute-0-9", "ip=10.1.255.254"), "already used by compute-0-0"),
        (("add", "host", "weird"), "give membership="),
        (("add", "host", "compute-0-9", "cpus=many"), "cpus must be a whole number"),
        (("add", "host", "Bad_Name", "membership=compute"), "invalid host name"),
        (("set", "host", "attr", "compute-0-0", "x", "a\nb"), "control character"),
        (("add", "host", "compute-0-0"), "already exists"),
        (("frobnicate", "host"), "unknown command"),
    ]
    for argv, message in cases:
        result = cluster(*argv)
        assert result.code != 0, argv
        assert message in result.err, (argv, result.err)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    assert cluster("list", "host", "compute-0-9").code == 2


def test_debug_shows_traceback(cluster):
    result = cluster("list", "host", "nosuch", "--debug")
    assert result.code == 2 and "Traceback" in result.err


def test_attribute_scopes_and_sources(cluster):
    assert cluster("set", "attr", "color", "green").code == 0
    assert cluster("set", "os", "attr", "linux", "color", "blue").code == 0
    rows = {r["attr"]: r for r in json.loads(cluster("list", "host", "attr", "compute-0-0",
                                                     "output-format=json").out)}
    assert (rows["color"]["value"], rows["color"]["source"]) == ("blue", "os")
    assert cluster("set", "appliance", "attr", "compute", "color", "red").code == 0
    assert cluster("set", "host", "attr", "compute-0-1", "attr=color", "value=black").code == 0
    table = cluster("list", "host", "attr", "compute-0-0", "compute-0-1", "attr=color").out.splitlines()
    assert table[0].split() == ["HOST", "ATTR", "VALUE", "SOURCE"]
    assert table[1].split() == ["compute-0-0:", "color", "red", "appliance"]
    assert table[2].split() == ["compute-0-1:", "color", "black", "host"]
    intrinsic = {r["attr"]: r for r in json.loads(cluster("list", "host", "attr", "compute-0-0",
                                                          "output-format=json").out)}
    assert (intrinsic["hostaddr"]["value"], intrinsic["hostaddr"]["source"]) == ("10.1.255.254", "intrinsic")
    assert cluster("remove", "host", "attr", "compute-0-1", "color").code == 0
    assert cluster("report", "host", "attr", "compute-0-1", "attr=color").out == "red\n"
    assert cluster("remove", "appliance", "attr", "compute", "color").code == 0
    assert cluster("remove", "os", "attr", "linux", "color").code == 0
    assert cluster("report", "host", "attr", "compute-0-1", "attr=color").out == "green\n"
    assert cluster("remove", "attr", "color").code == 0
    assert cluster("remove", "attr", "color").code == 2


def test_report_host_attr_formats(cluster):
    lines = cluster("report", "host", "attr", "compute-0-0").out.splitlines()
    assert "hostname:compute-0-0" in lines and "membership:Compute" in lines
    data = json.loads(cluster("report", "host", "attr", "compute-0-0", "pydict=yes").out)
    assert data["appliance"] == "compute" and data["rack"] == "0"


def test_interfaces_add_set_remove(cluster):
    assert cluster("add", "network", "ib", "subnet=192.168.10.0", "netmask=255.255.255.0").code == 0
    assert cluster("add", "host", "interface", "compute-0-0", "ib0", "subnet=ib", "ip=auto").code == 0
    assert cluster("set", "host", "interface", "mac", "compute-0-0", "ib0", "52:54:00:00:0a:00").code == 0
    ifaces = {(i["host"], i["iface"]): i for i in json.loads(
        cluster("list", "host", "interface", "compute-0-0", "output-format=json").out)}
    assert ifaces[("compute-0-0", "ib0")]["ip"] == "192.168.10.254"
    assert ifaces[("compute-0-0", "ib0")]["mac"] == "52:54:00:00:0a:00"
    assert cluster("set", "host", "interface", "ip", "compute-0-0", "ib0", "192.168.10.5").code == 0
    bad = cluster("set", "host", "interface", "ip", "compute-0-0", "ib0", "10.1.0.9")
    assert bad.code != 0 and "not inside network ib" in bad.err
    bad = cluster("set", "host", "interface", "subnet", "compute-0-0", "ib0", "private")
    assert bad.code != 0 and "not inside network private" in bad.err
    assert cluster("set", "host", "interface", "ip", "compute-0-0", "iface=ib0", "ip=192.168.10.6").code == 0
    assert cluster("remove", "host", "interface", "compute-0-0", "ib0").code == 0
    assert cluster("remove", "host", "interface", "compute-0-0", "ib0").code == 2


def test_networks(cluster):
    bad = cluster("add", "network", "bad", "subnet=10.5.0.1", "netmask=255.255.0.0")
    assert bad.code != 0 and "not the network address" in bad.err
    assert "invalid netmask" in cluster("add", "network", "bad", "subnet=10.5.0.0", "netmask=255.0.255.0").err
    assert cluster("add", "network", "storage", "subnet=10.5.0.0", "netmask=255.255.0.0", "mtu=9000").code == 0
    assert "already exists" in cluster("add", "network", "storage", "subnet=10.6.0.0", "netmask=255.255.0.0").err
    table = cluster("list", "network").out.splitlines()
    assert table[0].split()[:3] == ["NETWORK", "SUBNET", "NETMASK"]
    assert any(line.startswith("storage:") and "9000" in line for line in table)


def test_set_host_fields(cluster):
    assert cluster("set", "host", "cpus", "compute-0-0", "compute-0-1", "16").code == 0
    assert cluster("set", "host", "rack", "compute-0-0", "rack=4").code == 0
    assert cluster("set", "host", "rank", "compute-0-0", "9").code == 0
    assert cluster("set", "host", "membership", "compute-0-1", "NAS Appliance").code == 0
    hosts = {h["host"]: h for h in json.loads(cluster("list", "host", "output-format=json").out)}
    assert (hosts["compute-0-0"]["cpus"], hosts["compute-0-0"]["rack"], hosts["compute-0-0"]["rank"]) == (16, 4, 9)
    assert hosts["compute-0-1"]["membership"] == "NAS Appliance"
    assert cluster("set", "host", "cpus", "compute-0-0", "0").code != 0
    assert "unknown membership" in cluster("set", "host", "membership", "compute-0-0", "Nope").err


def test_appliances(cluster):
    assert cluster("add", "appliance", "login", "node=login").code == 0
    assert cluster("add", "host", "login-0-0").code == 0
    apps = {a["appliance"]: a for a in json.loads(cluster("list", "appliance", "output-format=json").out)}
    assert apps["login"]["node"] == "login" and apps["compute"]["node"] == "compute"
    assert cluster("list", "membership").out.splitlines()[-1].split() == ["Login:", "login"]
    assert "already exists" in cluster("add", "appliance", "login").err
    attrs = cluster("list", "appliance", "attr", "login").out
    assert "kickstartable" in attrs and "true" in attrs


def test_remove_host_removes_its_rows(cluster):
    assert cluster("set", "host", "attr", "compute-0-1", "a", "b").code == 0
    assert cluster("remove", "host", "compute-0-1").code == 0
    assert cluster("list", "host", "compute-0-1").code == 2
    # its MAC and IP are free again
    assert cluster("add", "host", "compute-0-5", "mac=52:54:00:00:01:01", "ip=10.1.255.253").code == 0


def test_set_password(cluster):
    from ksserver.passwords import sha512_crypt

    assert cluster("set", "password", stdin="short\n").code == 1
    # never on the command line, where /proc/PID/cmdline shows it to every local user
    assert cluster("set", "password", "password=correct horse battery").code != 0
    assert cluster("set", "password", stdin="correct horse battery\n").code == 0
    stored = cluster("report", "host", "attr", "compute-0-0", "attr=Kickstart_PrivateRootPassword").out.strip()
    salt = stored.split("$")[2]
    assert stored == sha512_crypt("correct horse battery", salt)
    assert cluster("set", "password", "hash=plain").code == 1


def test_sha512_crypt_reference_vector():
    from ksserver.passwords import sha512_crypt

    # From Drepper's specification ("Unix crypt using SHA-256 and SHA-512").
    assert sha512_crypt("Hello world!", "saltstring") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
    assert sha512_crypt("Hello world!", "saltstringsaltstring", rounds=10000) == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9"
        "qs/y3RnOaw5v.")


def test_init_on_an_older_database_puts_the_install_tree_beside_its_own_kickstart_host(rocks):
    """A database from before the install-tree listener has no Kickstart_PrivateInstallHost: ``rocks init``
    adds it beside the site's own kickstart host (the next port), never at the stock 10.1.1.1."""
    assert rocks("init").code == 0
    attrs = {a["attr"]: a["value"] for a in json.loads(rocks("list", "attr", "output-format=json").out)}
    assert attrs["Kickstart_PrivateInstallHost"] == "10.1.1.1:81"
    assert rocks("set", "attr", "Kickstart_PrivateKickstartHost", "10.0.2.2:8080").code == 0
    assert rocks("remove", "attr", "Kickstart_PrivateInstallHost").code == 0
    assert rocks("init").code == 0
    attrs = {a["attr"]: a["value"] for a in json.loads(rocks("list", "attr", "output-format=json").out)}
    assert attrs["Kickstart_PrivateInstallHost"] == "10.0.2.2:8081"
    assert rocks("set", "attr", "Kickstart_PrivateKickstartHost", "head.example.org").code == 0
    assert rocks("remove", "attr", "Kickstart_PrivateInstallHost").code == 0
    assert rocks("init").code == 0
    attrs = {a["attr"]: a["value"] for a in json.loads(rocks("list", "attr", "output-format=json").out)}
    assert attrs["Kickstart_PrivateInstallHost"] == "head.example.org:81"
