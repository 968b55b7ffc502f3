"""Boot actions: what hosts do at their next network boot, and the PXE files that say it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from ksserver.db.models import Host
from ksserver.inventory import boot, hosts
from ksserver.services import Cluster
from ksserver.services.bootfiles import BootFileChanges


@dataclass(frozen=True)
class BootActionRequest:
    action: str
    kernel: str
    ramdisk: str = ""
    args: str = ""


@dataclass(frozen=True)
class BootRow:
    host: str
    action: str
    run_action: str
    install_action: str


@dataclass(frozen=True)
class BootActionRow:
    action: str
    kernel: str
    ramdisk: str
    args: str


def set_boot(cluster: Cluster, names: list[str], action: str) -> dict[str, str]:
    """Set install or os for hosts (naming none is refused).  ``install`` issues each host a fresh install
    token (older ones revoked) and puts it on its install kernel line; returns host name -> token."""
    from ksserver.errors import InvalidArgument

    if not names:
        raise InvalidArgument("name the hosts whose boot action to set")
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        for host in hosts.get_hosts(session, names):
            files.track(session, host)
            boot.set_boot(session, host, action)
            files.settle(session, host, reissue=action == "install")  # every install order: a new token
    files.apply(cluster.settings.tftp_dir)
    return files.tokens()


def list_boot(cluster: Cluster, names: list[str]) -> list[BootRow]:
    with cluster.db.session() as session:
        return [BootRow(h.name, boot.boot_state(session, h) or "", h.run_action, h.install_action)
                for h in hosts.get_hosts(session, names)]


def add_bootaction(cluster: Cluster, req: BootActionRequest) -> int:
    """Add or replace a boot action; hosts using it get their PXE files rewritten.  Returns their number."""
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        users = list(session.scalars(select(Host).where(or_(Host.run_action == req.action,
                                                            Host.install_action == req.action))))
        for host in users:
            files.track(session, host)
        boot.add_bootaction(session, req.action, req.kernel, req.ramdisk, req.args)
        for host in users:
            files.settle(session, host)
    files.apply(cluster.settings.tftp_dir)
    return len(users)


def list_bootactions(cluster: Cluster) -> list[BootActionRow]:
    with cluster.db.session() as session:
        return [BootActionRow(a.action, a.kernel, a.ramdisk, a.args) for a in boot.list_bootactions(session)]


def sync_boot_files(cluster: Cluster, names: list[str]) -> int:
    """Rewrite the boot files of hosts (all when ``names`` is empty) from the database.  A host being
    installed keeps its answers (and token) when they are all there; a missing one means a new token."""
    from ksserver.bootanswers import answer_paths

    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        for host in hosts.get_hosts(session, names):
            files.track(session, host)
            entry = boot.current_entry(session, host)
            missing = entry is not None and not all(p.exists() for p in answer_paths(cluster.settings.tftp_dir,
                                                                                      entry))
            files.settle(session, host, reissue=missing)
    files.apply(cluster.settings.tftp_dir)
    return len(files)
