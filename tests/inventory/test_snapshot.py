"""The server's in-memory inventory agrees with the database after every kind of change."""

from __future__ import annotations

from ksserver.db.session import Database
from ksserver.inventory import context, hosts
from ksserver.inventory.snapshot import InventorySnapshot


def _assert_agrees(snap: InventorySnapshot, db: Database) -> None:
    snap.sync()
    with db.session() as session:
        rows = hosts.list_hosts(session)
        assert sorted(h.name for h in rows) == sorted(v.name for v in snap.hosts.values())
        for row in rows:
            view = snap.hosts[row.id]
            assert snap.attrs(view) == context.host_attrs(session, row), row.name
            for iface in row.interfaces:
                if iface.ip and iface.subnet is not None and iface.subnet.provisioning:
                    assert snap.by_ip[iface.ip] == row.id
                if iface.mac:
                    assert snap.by_mac[iface.mac] == row.id


def test_snapshot_follows_changes(cluster, settings):
    db = Database.from_url(settings.effective_database_url)
    snap = InventorySnapshot(db)
    try:
        _assert_agrees(snap, db)
        loaded = snap.loaded_at
        cluster("set", "host", "attr", "compute-0-0", "rack_power", "a")
        cluster("set", "host", "interface", "ip", "compute-0-1", "eth0", "10.1.0.77")
        cluster("set", "host", "cpus", "compute-0-1", "64")
        _assert_agrees(snap, db)
        assert snap.loaded_at == loaded  # host-scoped changes did not reload everything
        assert "10.1.255.253" not in snap.by_ip and snap.by_ip["10.1.0.77"]
        cluster("set", "appliance", "attr", "compute", "Kickstart_Timezone", "Asia/Tokyo")
        cluster("set", "os", "attr", "linux", "x11", "true")
        _assert_agrees(snap, db)
        assert snap.loaded_at > loaded
        cluster("remove", "host", "compute-0-1")
        cluster("add", "host", "compute-3-3", "mac=52:54:00:03:03:03")
        _assert_agrees(snap, db)
        assert "compute-0-1" not in snap.by_name
    finally:
        db.dispose()


def test_snapshot_keeps_a_bounded_cache_and_readers_in_threads_see_changes(cluster, settings):
    import threading

    db = Database.from_url(settings.effective_database_url)
    snap = InventorySnapshot(db, cache_size=2)
    try:
        snap.sync()
        with db.session() as session:
            ids = [h.id for h in hosts.list_hosts(session)]
        for hid in ids:
            assert snap.host(hid) is not None
        assert len(snap._views) <= 2 and len(ids) > 2
        stop = threading.Event()
        errors: list[BaseException] = []

        def reader() -> None:  # what kickstart requests do, on the event loop and in Flask's threads
            try:
                while not stop.is_set():
                    snap.sync()
                    for hid in ids:
                        view = snap.host(hid)
                        if view is not None:
                            snap.attrs(view)
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for k in range(5):
            cluster("set", "host", "attr", "compute-0-0", "rack_power", f"p{k}")
            cluster("set", "attr", "site_tag", f"g{k}")
        stop.set()
        for t in threads:
            t.join()
        assert not errors
        _assert_agrees(snap, db)
        view = snap.host(snap.by_name["compute-0-0"])
        assert snap.attrs(view)["rack_power"] == "p4" and snap.attrs(view)["site_tag"] == "g4"
    finally:
        db.dispose()


def test_remembered_lookups_follow_a_mac_moving_between_hosts(cluster, settings):
    """Lookups are memoized between changes: a MAC taken from one host and given to another, or a host
    removed, is answered afresh by the next lookup."""
    db = Database.from_url(settings.effective_database_url)
    snap = InventorySnapshot(db)
    try:
        assert cluster("add", "host", "compute-5-0", "mac=52:54:00:05:00:00").code == 0
        assert cluster("add", "host", "compute-5-1", "mac=52:54:00:05:00:01").code == 0
        snap.sync()
        first = snap.by_mac["52:54:00:05:00:00"]
        assert snap.by_mac.get("52:54:00:05:00:99") is None  # a miss is remembered too
        assert cluster("remove", "host", "interface", "compute-5-0", "eth0").code == 0
        assert cluster("set", "host", "interface", "mac", "compute-5-1", "eth0", "52:54:00:05:00:00").code == 0
        assert cluster("add", "host", "compute-5-2", "mac=52:54:00:05:00:99").code == 0
        snap.sync()
        assert snap.by_mac["52:54:00:05:00:00"] != first
        assert snap.hosts[snap.by_mac["52:54:00:05:00:00"]].name == "compute-5-1"
        assert snap.hosts[snap.by_mac["52:54:00:05:00:99"]].name == "compute-5-2"
        assert cluster("remove", "host", "compute-5-2").code == 0
        snap.sync()
        assert "52:54:00:05:00:99" not in snap.by_mac
    finally:
        db.dispose()
