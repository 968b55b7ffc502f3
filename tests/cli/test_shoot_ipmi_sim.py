"""shoot-node of a physical host through a real BMC simulator: OpenIPMI's ``ipmi_sim``, one per test, on
127.0.0.1:<free UDP port>, with its own lan.conf, state directory and a ``chassis_control`` program.

The simulator is real (IPMI 2.0 RMCP+ sessions, users, privileges, the chassis commands); what it
controls is not a machine but the chassis program below, which records each power/boot change in a log
and keeps the power state in a file: the stand-in for the node's power supply.

ipmi_sim does not answer "Get Channel Cipher Suites", so ipmitool without ``-C`` waits ~10 s per session
before it falls back (what looked like a simulator that stops answering): the hosts get ``ipmi_cipher=3``."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lifecycle.tools import need
from tests.procs import stop_group

pytestmark = pytest.mark.timeout(120)
USER, PASSWORD = "admin", "s3cret-bmc"

CHASSIS = """#!/bin/sh
# ipmi_sim's chassis_control protocol: PROG get NAME...  ->  NAME:VALUE lines;  PROG set NAME "VALUE"...
dir={dir}
cmd=$1; shift
case "$cmd" in
  get) for name in "$@"; do
         case $name in
           power) echo "power:$(cat "$dir/power" 2>/dev/null || echo 0)" ;;
           boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo default)" ;;
           *) echo "$name:0" ;;
         esac
       done ;;
  set) while [ $# -ge 2 ]; do
         echo "$1 $2" >> "$dir/chassis.log"
         echo "$2" > "$dir/$1"
         shift 2
       done ;;
esac
exit 0
"""

LAN_CONF = """name "ksbmc"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {port}
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "{chassis}"
  user 2 true "{user}" "{password}" admin 10 md5
"""

EMU = """mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
"""


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bmc:
    def __init__(self, top: Path, port: int):
        self.top, self.port = top, port

    def log(self) -> list[str]:
        path = self.top / "chassis.log"
        return path.read_text().splitlines() if path.exists() else []

    def power(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run([need("ipmitool", "ipmitool"), "-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p",
                               str(self.port), "-U", USER, "-E", "chassis", "power", *command],
                              env=dict(os.environ, IPMI_PASSWORD=PASSWORD), capture_output=True, text=True,
                              timeout=30, check=False)


@pytest.fixture
def bmc(tmp_path: Path) -> Iterator[Bmc]:
    sim = need("ipmi_sim", "openipmi")
    need("ipmitool", "ipmitool")
    top = tmp_path / "bmc"
    (top / "state").mkdir(parents=True)
    chassis = top / "chassis.sh"
    chassis.write_text(CHASSIS.format(dir=top))
    chassis.chmod(0o755)
    port = _free_udp_port()
    (top / "lan.conf").write_text(LAN_CONF.format(port=port, chassis=chassis, user=USER, password=PASSWORD))
    (top / "sim.emu").write_text(EMU)
    with open(top / "ipmi_sim.out", "w") as out:
        proc = subprocess.Popen([sim, "-c", str(top / "lan.conf"), "-f", str(top / "sim.emu"), "-s",
                                 str(top / "state"), "-n"], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    bmc = Bmc(top, port)
    try:
        deadline = time.monotonic() + 30
        while bmc.power("status").returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ipmi_sim did not answer:\n{(top / 'ipmi_sim.out').read_text()}")
            time.sleep(0.2)
        yield bmc
    finally:
        stop_group(proc)


def _wait_for(predicate, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_shoot_node_reboots_a_physical_host_through_ipmi_sim(cluster, bmc):
    for attr, value in (("ipmi_address", "127.0.0.1"), ("ipmi_port", str(bmc.port)), ("ipmi_user", USER),
                        ("ipmi_password", PASSWORD), ("ipmi_cipher", "3")):
        assert cluster("set", "host", "attr", "compute-0-0", attr, value).code == 0
    assert cluster("set", "host", "boot", "compute-0-0", "action=os").code == 0

    off = cluster("shoot", "node", "compute-0-0", "follow=no")    # the node is off: powered on, PXE first
    assert off.code == 0, off
    assert bmc.log() == ["boot pxe", "power 1"]
    assert "Chassis Power is on" in bmc.power("status").stdout
    assert cluster("list", "host", "boot", "compute-0-0").out.splitlines()[1].split()[1] == "install"

    running = cluster("shoot", "node", "compute-0-0", "follow=no")  # now it runs: a power cycle
    assert running.code == 0, running
    _wait_for(lambda: len(bmc.log()) >= 5, "the simulator to power the node back on")
    assert bmc.log() == ["boot pxe", "power 1", "boot pxe", "power 0", "power 1"]
    # Every ipmitool session above was a fresh one; the simulator still answers.
    for _ in range(5):
        assert bmc.power("status").returncode == 0


def test_a_wrong_bmc_password_is_a_reported_failure(cluster, bmc):
    for attr, value in (("ipmi_address", "127.0.0.1"), ("ipmi_port", str(bmc.port)), ("ipmi_user", USER),
                        ("ipmi_password", "wrong"), ("ipmi_cipher", "3")):
        assert cluster("set", "host", "attr", "compute-0-0", attr, value).code == 0
    result = cluster("shoot", "node", "compute-0-0", "follow=no")
    assert result.code != 0 and "compute-0-0: ipmitool chassis bootdev pxe on 127.0.0.1" in result.err, result
    assert "wrong" not in result.err
    assert bmc.log() == []
    assert cluster("list", "host", "boot", "compute-0-0").out.splitlines()[1].split()[1] == "install"
