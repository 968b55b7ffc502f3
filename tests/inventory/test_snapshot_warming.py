"""A server's snapshot warms its cache in bulk: the views, layouts and lookup answers it reads are exactly
those one-host reads give, and a change that lands meanwhile is never hidden by them."""

from __future__ import annotations

import time

from ksserver.db.session import Database
from ksserver.inventory import hosts, partition_reports
from ksserver.inventory.snapshot import InventorySnapshot
from rocks_partition.records import DiskRecord, Layout, PartitionRecord

GIB_S = 2 * 1024 * 1024
LAYOUT = Layout(disks=(DiskRecord("sda", size=40 * GIB_S, label="gpt", partitions=(
    PartitionRecord("sda1", 2048, 16 * GIB_S, fstype="xfs", mountpoint="/"),
    PartitionRecord("sda2", 2048 + 16 * GIB_S, 8 * GIB_S, fstype="ext4", mountpoint="/state/partition1"))),))


def _vary(cluster, db) -> dict[str, int]:
    assert cluster("add", "host", "compute-7-0", "mac=52:54:00:07:00:00").code == 0
    assert cluster("add", "host", "interface", "compute-7-0", "eth1", "mac=52:54:00:07:00:01").code == 0
    assert cluster("set", "host", "attr", "compute-7-0", "rack_power", "b").code == 0
    assert cluster("add", "host", "compute-7-1", "mac=52:54:00:07:01:00").code == 0
    with db.session(write=True) as session:
        ids = {h.name: h.id for h in hosts.list_hosts(session)}
        partition_reports.store_report(session, ids["compute-7-0"], LAYOUT)
        partition_reports.store_report(session, ids["compute-0-0"], LAYOUT)
        partition_reports.store_plan(session, ids["compute-7-1"], {"plan": {"sda": "keep"}, "text": "kept sda"})
    return ids


def _one_by_one(db: Database, ids) -> tuple[dict, dict]:
    plain = InventorySnapshot(db)
    plain.sync()
    views = {}
    for hid in ids:
        view = plain.host(hid)
        view.partitioning = partition_reports.db_info_by_query(plain.query, hid)
        views[hid] = view
    answers = {}
    for view in views.values():
        for iface in view.interfaces:
            answers[("mac", iface.mac)] = plain.by_mac.get(iface.mac)
            answers[("ip", iface.ip)] = plain.by_ip.get(iface.ip)
            answers[("owned", iface.ip)] = plain.owned_ips.get(iface.ip)
    return views, answers


def test_preloaded_views_are_what_one_host_reads_give(cluster, settings):
    db = Database.from_url(settings.effective_database_url)
    try:
        ids = _vary(cluster, db)
        views, answers = _one_by_one(db, ids.values())
        snap = InventorySnapshot(db)
        snap.sync()
        assert snap.preload() == len(ids)
        assert {hid: snap._views[hid] for hid in ids.values()} == views
        assert views[ids["compute-7-0"]].partitioning != views[ids["compute-7-1"]].partitioning
        assert views[ids["compute-7-1"]].partitioning[1] is True  # the plan to clear is known too
        for (kind, key), expected in answers.items():
            lookup = {"mac": snap.by_mac, "ip": snap.by_ip, "owned": snap.owned_ips}[kind]
            if key is not None and expected is not None:
                assert lookup._memo.get(key) == expected, (kind, key)
    finally:
        db.dispose()


def test_preload_keeps_at_most_the_cache_size(cluster, settings):
    db = Database.from_url(settings.effective_database_url)
    try:
        snap = InventorySnapshot(db, cache_size=2)
        snap.sync()
        assert snap.preload() == 2 and len(snap._views) == 2
    finally:
        db.dispose()


def test_a_change_during_the_preload_keeps_nothing(cluster, settings, monkeypatch):
    db = Database.from_url(settings.effective_database_url)
    try:
        snap = InventorySnapshot(db)
        snap.sync()
        read_layouts = partition_reports.db_info_up_to

        def change_meanwhile(query, last):
            out = read_layouts(query, last)
            assert cluster("set", "host", "attr", "compute-0-0", "rack_power", "changed").code == 0
            snap.sync()  # a request notices the change while the warming thread is still reading
            return out

        monkeypatch.setattr(partition_reports, "db_info_up_to", change_meanwhile)
        assert snap.preload() == 0
        assert not snap._views and not snap.by_mac._memo
        view = snap.host(snap.by_name["compute-0-0"])
        assert snap.attrs(view)["rack_power"] == "changed"
    finally:
        db.dispose()


def test_a_server_snapshot_warms_when_asked_after_a_load_or_a_shared_change(cluster, settings):
    db = Database.from_url(settings.effective_database_url)
    try:
        with db.session() as session:
            count = len(hosts.list_hosts(session))
        snap = InventorySnapshot(db, warm=True)
        snap.start_warming()  # nothing loaded yet: nothing asked for
        assert not snap._warming.locked() and not snap._views
        snap.sync()  # the first load asks for a warming; the server starts it after an answer
        snap.sync()
        assert not snap._views
        snap.start_warming()
        _wait_for(lambda: len(snap._views) == count)
        assert cluster("set", "host", "attr", "compute-0-0", "rack_power", "x").code == 0
        snap.sync()  # a host change drops that host only, and asks for nothing
        assert len(snap._views) == count - 1 and not snap._warm_wanted
        assert cluster("set", "attr", "site_tag", "g1").code == 0
        snap.sync()  # a shared change drops every view and asks again
        assert not snap._views and snap._warm_wanted
        snap.start_warming()
        _wait_for(lambda: len(snap._views) == count)
        view = snap.host(snap.by_name["compute-0-0"])
        assert snap.attrs(view)["site_tag"] == "g1"
    finally:
        db.dispose()


def _wait_for(done, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, "the snapshot did not warm"
        time.sleep(0.02)
