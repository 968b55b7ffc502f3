"""rocks console host / rocks-console without a running VM: the installer VNC of a physical node, the ssh
tunnel for a remote container, viewer selection, and the refusals.  The VM paths (VNC display, serial stream)
run against a real libvirtd in tests/netboot/test_libvirt_vm_install.py."""

from __future__ import annotations

import pytest

from ksserver.services import console
from ksserver.services.console import VncTarget
from tests.cli.test_vms import vmcluster  # noqa: F401  (fixture)


def test_physical_node_prints_the_installer_vnc_command(cluster):
    result = cluster("console", "host", "compute-0-0", "print=yes")
    assert result.code == 0, result
    assert result.out == "vncviewer 10.1.255.254::5901\n"


def test_install_vnc_port_attribute_and_its_validation(cluster):
    assert cluster("set", "host", "attr", "compute-0-0", "install_vnc_port", "5905").code == 0
    assert cluster("console", "host", "compute-0-0", "--print", "yes").out == "vncviewer 10.1.255.254::5905\n"
    assert cluster("set", "host", "attr", "compute-0-0", "install_vnc_port", "5905; rm -rf /").code == 0
    bad = cluster("console", "host", "compute-0-0", "print=yes")
    assert bad.code != 0 and "install_vnc_port must be a TCP port" in bad.err, bad


def test_without_a_viewer_it_prints_what_to_run(cluster, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    result = cluster("console", "host", "compute-0-0")
    assert result.code == 0, result
    assert "no VNC viewer on PATH" in result.err
    assert result.out == "vncviewer 10.1.255.254::5901\n"


def test_serial_console_of_a_physical_node_is_refused(cluster):
    result = cluster("console", "host", "compute-0-0", "serial=yes")
    assert result.code != 0 and "not a VM" in result.err and "sol activate" in result.err, result


def test_unknown_host(cluster):
    result = cluster("console", "host", "nosuchhost", "print=yes")
    assert result.code != 0 and "nosuchhost" in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(("uri", "ssh"), [
    ("qemu:///system", ("", "")),
    ("qemu+unix:///session?socket=/tmp/x/sock", ("", "")),
    ("qemu+ssh://vm-container-0-0/system", ("vm-container-0-0", "")),
    ("qemu+ssh://admin@vm-container-0-1:2222/system", ("admin@vm-container-0-1", "2222")),
    ("qemu+tcp://localhost/system", ("", "")),
])
def test_remote_container_uri(uri, ssh):
    assert console._remote(uri) == ssh


def test_tunnel_and_viewer_commands():
    target = VncTarget("compute-0-0-0", "vm", "127.0.0.1", 41000, "admin@vm-container-0-1", "2222",
                       "127.0.0.1", 5900)
    assert target.tunnel_argv == ["ssh", "-N", "-o", "ExitOnForwardFailure=yes", "-p", "2222",
                                  "-L", "127.0.0.1:41000:127.0.0.1:5900", "admin@vm-container-0-1"]
    assert console.suggested_commands(target) == [
        "ssh -N -o ExitOnForwardFailure=yes -p 2222 -L 127.0.0.1:41000:127.0.0.1:5900 admin@vm-container-0-1 &",
        "vncviewer 127.0.0.1::41000"]
    found = {"remote-viewer": "/usr/bin/remote-viewer", "vncviewer": "/usr/bin/vncviewer"}
    assert console.viewer_argv(target, which=found.get) == ["/usr/bin/remote-viewer", "vnc://127.0.0.1:41000"]
    assert console.viewer_argv(target, which={"vncviewer": "/v"}.get) == ["/v", "127.0.0.1::41000"]
    assert console.viewer_argv(target, which=lambda _: None) is None
    local = VncTarget("compute-0-0-0", "vm", "127.0.0.1", 5900)
    assert local.tunnel_argv == [] and console.suggested_commands(local) == ["vncviewer 127.0.0.1::5900"]


def test_a_vm_that_is_not_running_has_no_display(vmcluster):  # noqa: F811
    assert vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute").code == 0
    result = vmcluster("console", "host", "compute-0-0-0", "print=yes")
    assert result.code != 0 and "is not running (undefined)" in result.err, result
    serial = vmcluster("console", "host", "compute-0-0-0", "serial=yes")
    assert serial.code != 0 and "not running" in serial.err, serial


def test_rocks_console_script_flags(monkeypatch):
    import ksserver.cli
    from ksserver.cli.commands import console as console_cmd

    seen = []
    monkeypatch.setattr(ksserver.cli, "run", lambda argv: seen.append(argv) or 0)
    monkeypatch.setattr("sys.argv", ["rocks-console", "compute-0-0-0", "--serial", "--timeout", "5"])
    with pytest.raises(SystemExit) as done:
        console_cmd.main()
    assert done.value.code == 0
    assert seen == [["console", "host", "compute-0-0-0", "serial=yes", "--timeout", "5"]]
