"""Which hosts did a write transaction change?  Collected from ORM flushes and recorded in the
``changes`` table at commit, so kickstart servers reload only what changed (O(changed hosts)).

Rows that belong to one host (its interfaces, own attributes, partitions, boot state, tokens) note
that host; anything else (attributes at other scopes, appliances, networks, boot actions) and any
bulk statement note "everything" (host NULL).  A caller running a Core statement on one host's rows
wraps it in ``host_scoped(session, [host_id])``.

An installer's partition report changes only the host's recorded layout, which a server reads once per
host view: ``note_partitioning`` records it as ``-host_id``, and a reader drops that cached layout instead
of reloading the host (in a storm of reports, every server would otherwise reload every reporting host).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ksserver.db import models

# Partitions are kickstart input (the plugin's recorded layout): the server caches them per host view.
_HOST_SCOPED = (models.Interface, models.HostAttribute, models.Boot, models.InstallToken, models.Partition,
                models.HostPartitioning)
# Rows the kickstart server does not hold in memory: changing them needs no reload anywhere.
_NOT_SERVED = (models.Change, models.User, models.UserToken, models.WebSession, models.AuditEntry,
               models.InstallStatus, models.Build)  # accounts, audit, install status, builds: no kickstart input
_NOT_SERVED_TABLES = frozenset(m.__tablename__ for m in _NOT_SERVED)
_KEY = "ksserver_changed"
_KEEP = 20000  # change rows kept; a reader further behind reloads everything


def _bucket(session: Session) -> dict:
    return session.info.setdefault(_KEY, {"hosts": set(), "all": False, "partitioning": set()})


def note_hosts(session: Session, host_ids) -> None:  # type: ignore[no-untyped-def]
    _bucket(session)["hosts"].update(host_ids)


def note_partitioning(session: Session, host_ids) -> None:  # type: ignore[no-untyped-def]
    """Only the recorded partition layout (partitions, host_partitioning) of these hosts changed."""
    _bucket(session)["partitioning"].update(host_ids)


def partitioning_only(host_ids) -> tuple[set[int], set[int]]:  # type: ignore[no-untyped-def]
    """Split the host ids of change rows (no NULL among them) into (hosts to reload, hosts whose recorded
    partition layout alone changed)."""
    ids = set(host_ids)
    reload = {h for h in ids if h >= 0}
    return reload, {-h for h in ids if h < 0} - reload


@contextmanager
def host_scoped(session: Session, host_ids) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Core DML inside this block touches only the rows of ``host_ids``."""
    note_hosts(session, host_ids)
    session.info["ksserver_host_dml"] = True
    try:
        yield
    finally:
        session.info.pop("ksserver_host_dml", None)


def install(factory: sessionmaker) -> None:
    @event.listens_for(factory, "after_flush")
    def _after_flush(session: Session, _ctx) -> None:  # type: ignore[no-untyped-def]
        bucket = _bucket(session)
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, models.Host):
                bucket["hosts"].add(obj.id)
            elif isinstance(obj, _HOST_SCOPED):
                bucket["hosts"].add(obj.host_id)
            elif isinstance(obj, models.VmNode):
                bucket["hosts"].update((obj.host_id, obj.phys_host_id))
            elif isinstance(obj, models.VmDisk):
                bucket["all"] = True  # rare; the VM id is not on the row
            elif not isinstance(obj, _NOT_SERVED):
                bucket["all"] = True

    @event.listens_for(factory, "do_orm_execute")
    def _on_execute(state) -> None:  # type: ignore[no-untyped-def]
        if (state.is_insert or state.is_update or state.is_delete) and \
                not state.session.info.get("ksserver_host_dml"):
            table = getattr(state.statement, "table", None)
            if table is None or table.name not in _NOT_SERVED_TABLES:
                _bucket(state.session)["all"] = True


def record(session: Session) -> None:
    """Append this transaction's change rows (called just before commit)."""
    bucket = session.info.pop(_KEY, None)
    session.info.pop("ksserver_host_dml", None)
    if bucket is None:
        return
    if bucket["all"]:
        rows = [{"host_id": None}]
    else:
        rows = [{"host_id": h} for h in sorted(bucket["hosts"]) if h is not None]
        rows += [{"host_id": -h} for h in sorted(bucket["partitioning"] - bucket["hosts"])]
    if not rows:
        return
    # Core on the session's connection: no ORM hooks to keep out, no bulk-insert machinery per write.
    conn = session.connection()
    conn.execute(_INSERT_CHANGES, rows)
    top = conn.execute(_TOP).scalar() or 0
    if top // 1000 != (top - len(rows)) // 1000:  # crossed a multiple of 1000: trim now and then
        conn.execute(delete(models.Change.__table__).where(models.Change.__table__.c.seq < top - _KEEP))


_INSERT_CHANGES = insert(models.Change.__table__)
_TOP = select(func.max(models.Change.__table__.c.seq))


def latest(session: Session) -> int:
    return session.scalar(select(func.max(models.Change.seq))) or 0
