"""Boot actions: what hosts do at their next network boot, and the PXE files that say it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ksserver.db.models import Boot, Host
from ksserver.errors import InvalidArgument
from ksserver.inventory import boot, bootrows, hosts
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
    if not names:
        raise InvalidArgument("name the hosts whose boot action to set")
    if action not in boot.BOOT_STATES:
        raise InvalidArgument(f"action must be install or os, not {action!r}")
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        ids = _host_ids(session, names)
        files.track_ids(session, ids)
        _set_states(session, ids, action)
        files.settle_ids(session, ids, reissue=action == "install")  # every install order: a new token
    files.apply(cluster.settings.tftp_dir)
    return files.tokens()


def _chunks(items: list) -> list[list]:  # type: ignore[type-arg]
    return [items[i:i + bootrows.CHUNK] for i in range(0, len(items), bootrows.CHUNK)]


def _host_ids(session: Session, names: list[str]) -> list[int]:
    """Ids of the named hosts in the order named (all hosts when ``names`` is empty), read in chunks;
    an unknown name raises ``hosts.get_host``'s error."""
    if not names:
        return list(session.scalars(select(Host.id).order_by(Host.rack, Host.rank, Host.name)))
    wanted = [name.lower() for name in names]
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(wanted))):
        found.update(session.execute(select(Host.name, Host.id).where(Host.name.in_(chunk))).all())
    for name in names:
        if name.lower() not in found:
            hosts.get_host(session, name)
    return list(dict.fromkeys(found[name] for name in wanted))


def _set_states(session: Session, host_ids: list[int], action: str) -> None:
    """``boot.set_boot`` for many hosts: their Boot rows read per chunk, changed in one flush."""
    rows: dict[int, Boot] = {}
    for chunk in _chunks(sorted(host_ids)):
        rows.update((row.host_id, row)
                    for row in session.scalars(select(Boot).where(Boot.host_id.in_(chunk))))
    for hid in host_ids:
        if hid in rows:
            rows[hid].action = action
        else:
            session.add(Boot(host_id=hid, action=action))
    session.flush()


def list_boot(cluster: Cluster, names: list[str]) -> list[BootRow]:
    with cluster.db.session() as session:
        return [BootRow(h.name, boot.boot_state(session, h) or "", h.run_action, h.install_action)
                for h in hosts.get_hosts(session, names)]


def add_bootaction(cluster: Cluster, req: BootActionRequest) -> int:
    """Add or replace a boot action; hosts using it get their PXE files rewritten.  Returns their number."""
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        users = list(session.scalars(select(Host.id).where(or_(Host.run_action == req.action,
                                                               Host.install_action == req.action))))
        files.track_ids(session, users)
        boot.add_bootaction(session, req.action, req.kernel, req.ramdisk, req.args)
        files.settle_ids(session, users)
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
    tftp = cluster.settings.tftp_dir
    with cluster.db.session(write=True) as session:
        ids = _host_ids(session, names)
        files.track_ids(session, ids)
        missing = {hid for hid, entry in files.entries().items()
                   if entry is not None and not all(p.exists() for p in answer_paths(tftp, entry))}
        files.settle_ids(session, ids, reissue=missing)
    files.apply(cluster.settings.tftp_dir)
    return len(files)
