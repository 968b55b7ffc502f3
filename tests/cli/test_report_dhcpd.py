"""rocks report dhcpd: dnsmasq and Kea configurations from the database, checked by the real daemons."""

from __future__ import annotations

import json
import subprocess

from tests.lifecycle.tools import need


def _check(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=30)


def test_dnsmasq_config_from_the_database(cluster, tmp_path):
    assert cluster("add", "host", "compute-0-2", "mac=52:54:00:00:01:02").code == 0
    assert cluster("set", "host", "attr", "compute-0-2", "dhcp_nextserver", "10.1.1.2").code == 0
    result = cluster("report", "dhcpd")
    assert result.code == 0, result
    text = result.out
    for name, mac in (("compute-0-0", "52:54:00:00:01:00"), ("compute-0-1", "52:54:00:00:01:01")):
        assert mac in text and name in text
    assert "52:54:00:00:00:01" not in text          # the frontend (the server itself) leases nothing
    assert "/install/ipxe?mac=${net0/mac}" in text and "10.1.1.2" in text
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(text)
    checked = _check([need("dnsmasq", "dnsmasq-base"), "--test", f"--conf-file={conf}"])
    assert checked.returncode == 0, checked.stderr + text


def test_kea_config_from_the_database(cluster, tmp_path):
    result = cluster("report", "dhcpd", "format=kea")
    assert result.code == 0, result
    config = json.loads(result.out)
    reservations = [r for s in config["Dhcp4"]["subnet4"] for r in s["reservations"]]
    assert {r["hw-address"] for r in reservations} == {"52:54:00:00:01:00", "52:54:00:00:01:01",
                                                       "52:54:00:00:02:00"}
    conf = tmp_path / "kea.conf"
    conf.write_text(result.out)
    checked = _check([need("kea-dhcp4", "kea-dhcp4-server"), "-t", str(conf)])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_bad_values_are_refused_with_the_host_named(cluster):
    assert cluster("set", "host", "attr", "compute-0-0", "dhcp_nextserver", "10.1.1.2;reboot").code == 0
    result = cluster("report", "dhcpd")
    assert result.code != 0 and "compute-0-0" in result.err
    assert cluster("report", "dhcpd", "format=isc").code != 0
