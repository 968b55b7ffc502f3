"""The install lifecycle as installers and admins see it: iPXE answers by MAC, stage reports, status.

``report_status`` is the installer's side: identified like a kickstart request (token, or its own
address on a provisioning network; every clue must agree), it records the stage; ``finished`` turns
the host's boot action to ``os`` (its boot answers now boot from disk) and revokes its token, so a
replayed report, or a reboot into the installer, cannot start it over.  ``list_status`` is the admin's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ksserver.bootanswers import UNKNOWN_MAC_IPXE, disk_boot_ipxe, ipxe_path
from ksserver.errors import InvalidArgument, NotInstalling, TooLarge
from ksserver.inventory import boot, hosts, lifecycle, validate
from ksserver.services import Cluster
from ksserver.services.bootfiles import BootFileChanges
from ksserver.services.installer import InstallerRequest, InstallerRuntime, _identify

log = logging.getLogger("ksserver.install")
MAX_LOG = 64 * 1024   # a failed install's log excerpt (anaconda's tail, a traceback)


@dataclass(frozen=True)
class StatusReport:
    stage: str
    log: str = ""
    host: str | None = None     # optional: the host the installer believes it is (must match)


@dataclass(frozen=True)
class StatusReply:
    host: str
    stage: str
    boot_action: str


@dataclass(frozen=True)
class StatusRow:
    host: str
    stage: str              # '' when never ordered; 'issued' before the first report
    started_at: float
    updated_at: float
    finished_at: float
    boot_action: str
    stalled: bool
    log: str


@dataclass(frozen=True)
class IpxeAnswer:
    text: str
    host: str | None        # None: the MAC is not a known host's


def ipxe_answer(rt: InstallerRuntime, mac: str) -> IpxeAnswer:
    """The iPXE script of the host with ``mac``: the answer its boot files hold (install with its token,
    or boot from disk), an explicit boot from disk when it has none, and a "not known" disk boot for a
    MAC no host has.  Never an error for a well-formed MAC: a firmware that gets none retries forever."""
    mac = validate.mac(mac)
    rt.snapshot.sync()
    host = rt.snapshot.host(rt.snapshot.by_mac.get(mac))
    if host is None:
        log.warning("iPXE script asked for unknown MAC %s: answered boot from disk", mac)
        return IpxeAnswer(UNKNOWN_MAC_IPXE, None)
    try:
        return IpxeAnswer(ipxe_path(rt.settings.tftp_dir, mac).read_text(), host.name)
    except FileNotFoundError:
        return IpxeAnswer(disk_boot_ipxe(host.name, mac), host.name)


def report_status(rt: InstallerRuntime, req: InstallerRequest, report: StatusReport) -> StatusReply:
    """Record an installer's stage report; ``finished`` makes the host boot from disk from now on."""
    stage = lifecycle.validate_stage(report.stage)
    if report.log and stage != "failed":
        raise InvalidArgument("a log is accepted only with stage=failed")
    if len(report.log.encode()) > MAX_LOG:
        raise TooLarge(f"install log larger than {MAX_LOG} bytes")
    if req.preview is not None:
        raise InvalidArgument("client= is not accepted here: a host reports only its own install")
    view = _identify(rt, req)
    if report.host is not None and report.host.lower() != view.name.lower():
        raise InvalidArgument(f"report names host {report.host!r}, but it comes from {view.name}")
    files = BootFileChanges(rt.settings)
    with rt.db.session(write=True) as session:
        host = hosts.get_host(session, view.name)
        state = boot.boot_state(session, host)
        if state != "install":
            raise NotInstalling(f"{host.name} is not being installed (boot action {state or 'none'}): "
                                f"stage {stage} refused")
        lifecycle.record_stage(session, host, stage, report.log)
        if stage == "finished":
            files.track(session, host)
            boot.set_boot(session, host, "os")
            files.settle(session, host)   # revokes the token: a replay is refused from now on
        state = boot.boot_state(session, host) or ""
    if stage == "finished":
        rt.snapshot.sync(force=True)
        files.apply(rt.settings.tftp_dir)
    log.info("install status of %s: %s", view.name, stage)
    return StatusReply(view.name, stage, state)


def list_status(cluster: Cluster, names: list[str], now: float | None = None) -> list[StatusRow]:
    now = time.time() if now is None else now
    stall = cluster.settings.install_stall_after
    rows = []
    with cluster.db.session() as session:
        for host in hosts.get_hosts(session, names):
            row = lifecycle.get_status(session, host)
            action = boot.boot_state(session, host) or ""
            if row is None:
                rows.append(StatusRow(host.name, "", 0.0, 0.0, 0.0, action, False, ""))
                continue
            rows.append(StatusRow(host.name, row.stage, row.started_at, row.updated_at, row.finished_at, action,
                                  lifecycle.is_stalled(row, stall, now), row.log))
    return rows
