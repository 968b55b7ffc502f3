"""Boot actions (what a host does at its next network boot) and the data for its PXE files."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ksserver.db.models import Boot, BootAction, Host
from ksserver.errors import InvalidArgument, NotFound
from ksserver.inventory import validate
from ksserver.inventory.context import private_interface
from ksserver.pxe import BootEntry

BOOT_STATES = ("install", "os")


def list_bootactions(session: Session) -> list[BootAction]:
    return list(session.scalars(select(BootAction).order_by(BootAction.action)))


def get_bootaction(session: Session, action: str) -> BootAction:
    row = session.scalar(select(BootAction).where(BootAction.action == action))
    if row is None:
        known = ", ".join(a.action for a in list_bootactions(session))
        raise NotFound(f"unknown boot action {action!r} (known: {known})")
    return row


def add_bootaction(session: Session, action: str, kernel: str, ramdisk: str = "", args: str = "") -> BootAction:
    validate.action_name(action)
    for name, value in (("kernel", kernel), ("ramdisk", ramdisk), ("args", args)):
        validate.attr_value(name, value)
    row = session.scalar(select(BootAction).where(BootAction.action == action))
    if row is None:
        row = BootAction(action=action)
        session.add(row)
    row.kernel, row.ramdisk, row.args = kernel, ramdisk, args
    session.flush()
    return row


def set_boot(session: Session, host: Host, action: str) -> BootEntry:
    if action not in BOOT_STATES:
        raise InvalidArgument(f"action must be install or os, not {action!r}")
    row = session.scalar(select(Boot).where(Boot.host_id == host.id))
    if row is None:
        session.add(Boot(host_id=host.id, action=action))
    else:
        row.action = action
    session.flush()
    return boot_entry(session, host, action)


def boot_state(session: Session, host: Host) -> str | None:
    return session.scalar(select(Boot.action).where(Boot.host_id == host.id))


def boot_entry(session: Session, host: Host, state: str | None = None) -> BootEntry:
    """The PXE file data for ``host`` in boot state ``state`` (install -> its installaction)."""
    state = state or boot_state(session, host) or "os"
    name = host.install_action if state == "install" else host.run_action
    action = get_bootaction(session, name)
    iface = private_interface(host)
    return BootEntry(host=host.name, ip=iface.ip if iface else None, mac=iface.mac if iface else None,
                     action=name, kernel=action.kernel, ramdisk=action.ramdisk, args=action.args)


def current_entry(session: Session, host: Host) -> BootEntry | None:
    """The host's PXE file data, or None when it has no boot state (then it has no PXE files)."""
    state = boot_state(session, host)
    return None if state is None else boot_entry(session, host, state)
