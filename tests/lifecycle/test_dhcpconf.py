"""dnsmasq and Kea configurations, checked by the real daemons (`dnsmasq --test`, `kea-dhcp4 -t`),
and refusal of any value that could inject a directive."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from ksserver.dhcpconf import DhcpConfigError, DhcpHost, DhcpSettings, kea_config, render_dnsmasq, render_kea
from tests.lifecycle.tools import need

HOSTS = [
    DhcpHost("compute-0-0", "52:54:00:00:01:00", "10.1.255.254", "10.1.0.0", "255.255.0.0", "10.1.1.1", "",
             ("10.1.1.1",)),
    DhcpHost("compute-0-1", "52:54:00:00:01:01", "10.1.255.253", "10.1.0.0", "255.255.0.0", "10.1.1.1",
             "10.1.1.2", ("10.1.1.1",)),
    DhcpHost("nas-0-0.local", "52:54:00:00:02:00", "192.168.5.3", "192.168.5.0", "255.255.255.0"),
]


def settings(tmp_path: Path, **kw: object) -> DhcpSettings:
    return DhcpSettings(server_ip="10.1.1.1", http_base="http://10.1.1.1:8080", tftp_root=str(tmp_path),
                        domain="local", **kw)  # type: ignore[arg-type]


def dnsmasq_test(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run([need("dnsmasq", "dnsmasq-base"), "--test", f"--conf-file={conf}"],
                          check=False, capture_output=True, text=True, timeout=30)


def kea_test(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run([need("kea-dhcp4", "kea-dhcp4-server"), "-t", str(conf)],
                          check=False, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("interface", ["", "br0"])
def test_dnsmasq_accepts_rendered_config(tmp_path: Path, interface: str) -> None:
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(render_dnsmasq(HOSTS, settings(tmp_path, interface=interface)))
    result = dnsmasq_test(conf)
    assert result.returncode == 0, result.stderr
    assert "syntax check OK" in result.stderr


def test_dnsmasq_content(tmp_path: Path) -> None:
    text = render_dnsmasq(HOSTS, settings(tmp_path))
    lines = text.splitlines()
    assert "dhcp-host=52:54:00:00:01:00,set:ns0,10.1.255.254,compute-0-0,infinite" in lines
    assert "dhcp-range=set:net0,10.1.0.0,static,255.255.0.0,43200" in lines
    assert "dhcp-range=set:net1,192.168.5.0,static,255.255.255.0,43200" in lines
    assert "dhcp-option=tag:net0,option:router,10.1.1.1" in lines
    assert "dhcp-match=set:efi64,option:client-arch,7" in lines
    assert "enable-tftp" in lines and f"tftp-root={tmp_path}" in lines
    boots = [line for line in lines if line.startswith("dhcp-boot=")]
    assert boots[0] == "dhcp-boot=tag:ipxe,http://10.1.1.1:8080/install/ipxe?mac=${net0/mac}"
    assert "dhcp-boot=tag:ns0,tag:!ipxe,tag:efi64,grubx64.efi,,10.1.1.1" in boots
    assert "dhcp-boot=tag:ns0,tag:!ipxe,tag:!efi64,tag:!efiarm64,pxelinux.0,,10.1.1.1" in boots
    assert "dhcp-boot=tag:ns1,tag:!ipxe,tag:efi64,grubx64.efi,,10.1.1.2" in boots  # per-host next-server


def test_dnsmasq_check_is_not_vacuous(tmp_path: Path) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(render_dnsmasq(HOSTS, settings(tmp_path)) + "dhcp-range=nonsense\n")
    assert dnsmasq_test(conf).returncode != 0


def test_kea_accepts_rendered_config(tmp_path: Path) -> None:
    conf = tmp_path / "kea-dhcp4.conf"
    conf.write_text(render_kea(HOSTS, settings(tmp_path, interface="lo")))
    result = kea_test(conf)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kea_content(tmp_path: Path) -> None:
    dhcp4 = kea_config(HOSTS, settings(tmp_path))["Dhcp4"]
    classes = {c["name"]: c for c in dhcp4["client-classes"]}
    assert classes["ipxe"]["boot-file-name"] == "http://10.1.1.1:8080/install/ipxe?mac=${net0/mac}"
    assert classes["efi64"]["boot-file-name"] == "grubx64.efi"
    assert classes["bios"]["boot-file-name"] == "pxelinux.0"
    assert "not (substring(option[77].hex,0,4) == 'iPXE')" in classes["bios"]["test"]
    first, second = dhcp4["subnet4"]
    assert first["subnet"] == "10.1.0.0/16" and second["subnet"] == "192.168.5.0/24"
    assert first["reservations"][0] == {"hw-address": "52:54:00:00:01:00", "ip-address": "10.1.255.254",
                                        "hostname": "compute-0-0"}
    assert first["reservations"][1]["next-server"] == "10.1.1.2"
    assert {"name": "routers", "data": "10.1.1.1"} in first["option-data"]
    assert second["next-server"] == "10.1.1.1"


def test_kea_check_is_not_vacuous(tmp_path: Path) -> None:
    data = kea_config(HOSTS, settings(tmp_path, interface="lo"))
    data["Dhcp4"]["subnet4"][0]["reservations"][0]["ip-address"] = "not-an-ip"
    conf = tmp_path / "bad.json"
    conf.write_text(json.dumps(data))
    assert kea_test(conf).returncode != 0


INJECTIONS = [
    ("name", "evil\ndhcp-boot=http://attacker/x"),
    ("name", 'evil"name'),
    ("name", "evil,10.9.9.9"),
    ("name", "evil name"),
    ("name", "#comment"),
    ("mac", "52:54:00:00:01:99\nenable-ra"),
    ("mac", "52:54:00:00:01"),
    ("ip", "10.1.0.5\ndhcp-option=3,6.6.6.6"),
    ("router", "10.1.1.1,6.6.6.6"),
    ("next_server", "10.1.1.1\ntftp-root=/"),
    ("dns", ("10.1.1.1\nx",)),
    ("ip", "192.168.0.5"),            # not in the host's network
]


@pytest.mark.parametrize("field,value", INJECTIONS)
def test_bad_host_values_are_refused(tmp_path: Path, field: str, value: object) -> None:
    host = replace(HOSTS[0], **{field: value})
    for render in (render_dnsmasq, render_kea):
        with pytest.raises(DhcpConfigError, match="host '"):
            render([host], settings(tmp_path))


@pytest.mark.parametrize("field,value", [
    ("http_base", "http://10.1.1.1/\nenable-tftp"),
    ("http_base", "ftp://10.1.1.1"),
    ("tftp_root", "/srv/tftp\ndhcp-boot=x"),
    ("tftp_root", "/srv/tftp #x"),
    ("bios_boot_file", "pxelinux.0,,6.6.6.6"),
    ("interface", "eth0\nport=53"),
    ("ipxe_script_path", "/install/ipxe?mac=x'"),
    ("server_ip", "10.1.1.1\n"),
    ("domain", "local\ndhcp-range=0.0.0.0"),
])
def test_bad_settings_are_refused(tmp_path: Path, field: str, value: str) -> None:
    bad = replace(settings(tmp_path), **{field: value})
    with pytest.raises(DhcpConfigError):
        render_dnsmasq(HOSTS, bad)
    with pytest.raises(DhcpConfigError):
        render_kea(HOSTS, bad)


def test_duplicates_are_refused(tmp_path: Path) -> None:
    twin = replace(HOSTS[1], mac=HOSTS[0].mac)
    with pytest.raises(DhcpConfigError, match="52:54:00:00:01:00 is also used by host 'compute-0-0'"):
        render_dnsmasq([HOSTS[0], twin], settings(tmp_path))
