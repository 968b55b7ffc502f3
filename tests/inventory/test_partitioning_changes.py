"""A partition report is a change of the host's recorded layout only: servers drop that cached layout (a
fresh copy of the view) instead of reloading the host, and a kickstart that read the old layout before the
change cannot put it back into the view now served."""

from __future__ import annotations

from ksserver.db.session import Database
from ksserver.inventory import hosts, partition_reports
from ksserver.inventory.snapshot import InventorySnapshot
from rocks_partition.records import DiskRecord, Layout, PartitionRecord

GIB_S = 2 * 1024 * 1024
LAYOUT = Layout(disks=(DiskRecord("sda", size=40 * GIB_S, label="gpt", partitions=(
    PartitionRecord("sda1", 2048, 16 * GIB_S, fstype="xfs", mountpoint="/"),)),))


def test_a_report_drops_only_the_cached_layout(cluster, settings):
    db = Database.from_url(settings.effective_database_url)
    snap = InventorySnapshot(db)
    try:
        snap.sync()
        with db.session() as session:
            host_id = hosts.get_host(session, "compute-0-0").id
        old = snap.hosts[host_id]
        old.partitioning = ("stale", False)  # a kickstart cached the layout it read
        loaded_at = snap.loaded_at
        with db.session(write=True) as session:
            partition_reports.store_report(session, host_id, LAYOUT)
        snap.sync()
        new = snap.hosts[host_id]
        assert new is not old and new.partitioning is None  # the next kickstart reads the report
        assert (new.name, new.interfaces, new.own) == (old.name, old.interfaces, old.own)
        assert snap.loaded_at == loaded_at
        old.partitioning = ("read before the change", False)  # a late kickstart on the old view
        assert snap.hosts[host_id].partitioning is None
        # a partition change and a host change in one sync: the host is reloaded, once
        with db.session(write=True) as session:
            partition_reports.store_report(session, host_id, Layout())
        cluster("set", "host", "cpus", "compute-0-0", "32")
        snap.sync()
        assert snap.hosts[host_id].cpus == 32 and snap.hosts[host_id].partitioning is None
    finally:
        db.dispose()
