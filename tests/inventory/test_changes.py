"""The change log: host-scoped writes note the host, shared writes note everything."""

from __future__ import annotations

from sqlalchemy import select

from ksserver.db.models import Change, Host
from ksserver.db.session import Database


def _changes_after(settings, seq):  # type: ignore[no-untyped-def]
    db = Database.from_url(settings.effective_database_url)
    try:
        with db.session() as session:
            rows = session.execute(select(Change.seq, Change.host_id).where(Change.seq > seq)
                                   .order_by(Change.seq)).all()
            ids = {name: hid for name, hid in session.execute(select(Host.name, Host.id))}
        return rows, ids
    finally:
        db.dispose()


def test_change_log_scopes(cluster, settings):
    rows, _ = _changes_after(settings, 0)
    start = rows[-1][0]
    assert cluster("set", "host", "attr", "compute-0-0", "a", "1").code == 0
    assert cluster("set", "host", "cpus", "compute-0-1", "4").code == 0
    assert cluster("set", "host", "interface", "ip", "compute-0-1", "eth0", "10.1.0.20").code == 0
    assert cluster("remove", "host", "attr", "compute-0-0", "a").code == 0
    assert cluster("add", "host", "partition", "compute-0-1", "device=sda1", "mountpoint=/", "size=10GB").code == 0
    assert cluster("remove", "host", "partition", "compute-0-1").code == 0
    assert cluster("set", "appliance", "attr", "compute", "b", "2").code == 0
    assert cluster("list", "host").code == 0  # reads note nothing
    rows, ids = _changes_after(settings, start)
    c0, c1 = ids["compute-0-0"], ids["compute-0-1"]
    # partition records are kickstart input (the plugin's recorded layout): host-scoped, like attributes
    assert [h for _, h in rows] == [c0, c1, c1, c0, c1, c1, None]


def test_failed_write_notes_nothing(cluster, settings):
    rows, _ = _changes_after(settings, 0)
    start = rows[-1][0]
    assert cluster("add", "host", "compute-0-7", "mac=52:54:00:00:01:00").code != 0
    assert _changes_after(settings, start)[0] == []
