"""Host context: the one place where database rows become graph-compiler input."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ksserver.db.models import Host
from ksserver.inventory.attributes import ResolvedAttr, resolve_host_attrs
from ksserver.inventory.snapshot import IfaceView, view_of


def private_interface(host: Host) -> IfaceView | None:
    """The interface on the 'private' network (the install network), else the first with an IP."""
    return view_of(host).private_interface()


def intrinsic_attrs(host: Host) -> dict[str, str]:
    return view_of(host).intrinsic()


def resolved_attrs(session: Session, host: Host) -> dict[str, ResolvedAttr]:
    return resolve_host_attrs(session, host, intrinsic_attrs(host))


def host_attrs(session: Session, host: Host) -> dict[str, str]:
    """The flat attribute dict handed to the graph compiler."""
    return {k: r.value for k, r in resolved_attrs(session, host).items()}
