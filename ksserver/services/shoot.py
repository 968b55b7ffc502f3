"""shoot-node: order a reinstall (boot action install, fresh token) and reboot the hosts, then follow
their install status until each one finished, failed, stalled or the time ran out.

How a host is rebooted: a VM through libvirt (hard power cycle of its domain); a host with an
``ipmi_address`` attribute through ``ipmitool`` (``ipmi_user``, the secret ``ipmi_password`` passed in
the environment, never on the command line; optional ``ipmi_port``, ``ipmi_interface``,
``ipmi_cipher``); anything else by ``ssh root@HOST reboot`` (needs the frontend's key on the node, as
Rocks' shoot-node did).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ksserver.errors import InvalidArgument, RocksError
from ksserver.inventory import hosts
from ksserver.inventory import vms as vms_db
from ksserver.inventory.context import host_attrs
from ksserver.inventory.lifecycle import FINAL
from ksserver.services import Cluster, boot, lifecycle, vms

Runner = Callable[..., subprocess.CompletedProcess]


class RebootFailed(RocksError):
    """A host could not be rebooted; its boot action is install, so the next boot installs it."""


@dataclass(frozen=True)
class Shot:
    host: str
    method: str          # vm | ipmi | ssh
    error: str = ""      # empty: the reboot was ordered


def _ipmitool(attrs: dict[str, str], *command: str, runner: Runner) -> subprocess.CompletedProcess:
    tool = shutil.which("ipmitool")
    if tool is None:
        raise RebootFailed("ipmitool is not installed (Debian package ipmitool)")
    argv = [tool, "-I", attrs.get("ipmi_interface", "lanplus"), "-H", attrs["ipmi_address"],
            "-U", attrs.get("ipmi_user", "ADMIN"), "-E"]
    if attrs.get("ipmi_port"):
        argv += ["-p", attrs["ipmi_port"]]
    if attrs.get("ipmi_cipher"):  # a fixed cipher suite skips ipmitool's negotiation (slow on some BMCs)
        argv += ["-C", attrs["ipmi_cipher"]]
    env = dict(os.environ, IPMI_PASSWORD=attrs.get("ipmi_password", ""))  # -E: not visible in /proc
    done = runner([*argv, *command], env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RebootFailed(f"ipmitool {' '.join(command)} on {attrs['ipmi_address']}: "
                           f"{(done.stderr or done.stdout).strip() or f'exit {done.returncode}'}")
    return done


def ipmi_reboot(attrs: dict[str, str], runner: Runner = subprocess.run) -> None:
    """Network boot next, then power cycle (or power on a host that is off)."""
    _ipmitool(attrs, "chassis", "bootdev", "pxe", runner=runner)
    status = _ipmitool(attrs, "chassis", "power", "status", runner=runner).stdout
    _ipmitool(attrs, "chassis", "power", "on" if "off" in status.lower() else "cycle", runner=runner)


def ssh_reboot(host: str, runner: Runner = subprocess.run) -> None:
    # Detached, so the command returns before the connection drops (ssh would report that as 255).
    done = runner(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", f"root@{host}",
                   "nohup reboot >/dev/null 2>&1 &"], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RebootFailed(f"ssh root@{host} reboot: {done.stderr.strip() or f'exit {done.returncode}'}")


def shoot(cluster: Cluster, names: list[str], runner: Runner = subprocess.run) -> list[Shot]:
    """Set install (a fresh token each) and reboot every host; a reboot that fails is reported, not raised."""
    if not names:
        raise InvalidArgument("name the hosts to reinstall")
    with cluster.db.session() as session:
        plan = []
        for host in hosts.get_hosts(session, names):
            attrs = host_attrs(session, host)
            method = "vm" if vms_db.is_vm(session, host) else "ipmi" if attrs.get("ipmi_address") else "ssh"
            plan.append((host.name, method, attrs))
    boot.set_boot(cluster, [name for name, _, _ in plan], "install")
    shots = []
    for name, method, attrs in plan:
        try:
            if method == "vm":
                if vms.vm_power(cluster, name, "status") != "undefined":
                    vms.vm_power(cluster, name, "stop")
                vms.start_vm(cluster, name)  # an undefined VM is created: it PXE-boots the same way
            elif method == "ipmi":
                ipmi_reboot(attrs, runner)
            else:
                ssh_reboot(name, runner)
            shots.append(Shot(name, method))
        except RocksError as exc:
            shots.append(Shot(name, method, str(exc)))
    return shots


def follow(cluster: Cluster, names: list[str], timeout: float, poll: float = 2.0,
           sleep: Callable[[float], None] = time.sleep) -> Iterator[list[lifecycle.StatusRow]]:
    """Status rows of ``names`` every ``poll`` seconds until each is finished, failed or stalled, or
    ``timeout`` seconds passed (the last rows are yielded either way)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = lifecycle.list_status(cluster, names)
        yield rows
        if all(r.stage in FINAL or r.stalled for r in rows) or time.monotonic() >= deadline:
            return
        sleep(poll)
