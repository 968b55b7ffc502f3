"""rocks shoot node / shoot-node: reinstall order (fresh token), reboot through libvirt's test driver,
progress followed until finished; IPMI's command line; exit codes."""

from __future__ import annotations

import re
import subprocess
import threading

import pytest

from ksserver.services import shoot
from tests.cli.test_vms import vmcluster  # noqa: F401  (fixture)

pytest.importorskip("libvirt", reason="libvirt-python not installed")


def _token(settings, mac: str) -> str:  # type: ignore[no-untyped-def]
    text = (settings.tftp_dir / "ipxe" / (mac.replace(":", "-") + ".ipxe")).read_text()
    return re.search(r"token=([A-Za-z0-9_-]+)", text)[1]  # type: ignore[index]


def test_shoot_vm_reboots_it_into_install_with_a_new_token(vmcluster, settings):  # noqa: F811
    assert vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute", "mem=512").code == 0
    assert vmcluster("start", "host", "vm", "compute-0-0-0").code == 0
    assert vmcluster("set", "host", "boot", "compute-0-0-0", "action=os").code == 0
    result = vmcluster("shoot", "node", "compute-0-0-0", "follow=no")
    assert result.code == 0, result
    assert vmcluster("list", "host", "boot", "compute-0-0-0").out.splitlines()[1].split()[1] == "install"
    assert "active" in vmcluster("list", "host", "vm", "compute-0-0-0").out
    first = _token(settings, "00:16:3e:00:00:00")
    assert vmcluster("shoot", "node", "compute-0-0-0", "follow=no").code == 0
    assert _token(settings, "00:16:3e:00:00:00") != first
    assert vmcluster("list", "host", "status", "compute-0-0-0").out.splitlines()[1].split()[1] == "issued"


def test_follow_until_finished_and_exit_codes(vmcluster, settings):  # noqa: F811
    from ksserver.db.session import Database
    from ksserver.inventory.requester import Request
    from ksserver.inventory.snapshot import InventorySnapshot
    from ksserver.services.installer import InstallerRuntime
    from ksserver.services.lifecycle import StatusReport, report_status

    assert vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute", "mem=512").code == 0
    db = Database.from_url(settings.effective_database_url)
    runtime = InstallerRuntime(db, InventorySnapshot(db), None, settings)

    def installer() -> None:  # what the booted VM would do: report its stages with its token
        for _ in range(200):
            path = settings.tftp_dir / "ipxe" / "00-16-3e-00-00-00.ipxe"
            if path.exists() and "token=" in path.read_text():
                break
            threading.Event().wait(0.05)
        req = Request(client_ip="127.0.0.1", token=_token(settings, "00:16:3e:00:00:00"))
        for stage in ("kickstart", "packages", "finished"):
            report_status(runtime, req, StatusReport(stage))

    worker = threading.Thread(target=installer)
    worker.start()
    result = vmcluster("shoot", "node", "compute-0-0-0", "timeout=60", "poll=0.1")
    worker.join()
    db.dispose()
    assert result.code == 0, result
    assert "compute-0-0-0" in result.out and "finished" in result.out and "1/1 finished" in result.out
    assert vmcluster("list", "host", "boot", "compute-0-0-0").out.splitlines()[1].split()[1] == "os"
    # Nobody reports this time: the follow gives up and the exit code says so.
    late = vmcluster("shoot", "node", "compute-0-0-0", "timeout=0", "poll=0")
    assert late.code != 0 and "not installed: compute-0-0-0" in late.err and "issued" in late.out


def test_ssh_fallback_failure_is_reported(cluster):
    result = cluster("shoot", "node", "compute-0-0", "follow=no")
    assert result.code != 0 and "compute-0-0: ssh root@compute-0-0 reboot" in result.err
    # The order stands: the next network boot installs it.
    assert cluster("list", "host", "boot", "compute-0-0").out.splitlines()[1].split()[1] == "install"


def test_ipmitool_command_line_keeps_the_password_out_of_argv():
    # A recording runner: the argv and environment; test_shoot_ipmi_sim.py reboots through a real ipmi_sim.
    calls = []

    def runner(argv, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((argv, kwargs["env"].get("IPMI_PASSWORD")))
        return subprocess.CompletedProcess(argv, 0, "Chassis Power is on\n", "")

    if shoot.shutil.which("ipmitool") is None:
        pytest.skip("ipmitool not installed (Debian package ipmitool)")
    shoot.ipmi_reboot({"ipmi_address": "10.2.0.5", "ipmi_user": "admin", "ipmi_password": "s3cret",
                       "ipmi_port": "6230"}, runner)
    assert [c[0][-3:] for c in calls] == [["chassis", "bootdev", "pxe"], ["chassis", "power", "status"],
                                          ["chassis", "power", "cycle"]]
    assert all("s3cret" not in argv and pw == "s3cret" and "-E" in argv for argv, pw in calls)
    assert calls[0][0][1:9] == ["-I", "lanplus", "-H", "10.2.0.5", "-U", "admin", "-E", "-p"]
