"""Contract of partitioning state: reports in the shared record format, the recorded layout handed back to
the installer, the one-shot reset and stored plans (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from ksserver.errors import InvalidArgument, NotFound
from ksserver.inventory import hosts, partition_reports
from ksserver.inventory.snapshot import InventorySnapshot
from ksserver.services import partitions
from ksserver.services.partitions import PartitionSpec
from rocks_partition.records import DbInfo, DiskRecord, Layout, PartitionRecord, parse_db_info

GIB_S = 2 * 1024 * 1024
REPORT = Layout(disks=(
    DiskRecord("sda", size=40 * GIB_S, label="gpt", partitions=(
        PartitionRecord("sda1", 2048, 16 * GIB_S, fstype="xfs", mountpoint="/", flags=("boot",)),
        PartitionRecord("sda2", 2048 + 16 * GIB_S, 4 * GIB_S, fstype="ext4", mountpoint="raid.sda2",
                        flags=("raid",)),
        PartitionRecord("sda5", 2048 + 20 * GIB_S, 4 * GIB_S, fstype="xfs", mountpoint="/state/partition1",
                        part_type="logical"))),
    DiskRecord("sdb", size=40 * GIB_S, label="gpt", partitions=(
        PartitionRecord("sdb1", 2048, 4 * GIB_S, fstype="ext4", mountpoint="raid.sdb1", flags=("raid",)),)),
    DiskRecord("sdc", size=8 * GIB_S)),
    raids=(PartitionRecord("md0", size=4 * GIB_S, fstype="ext4", mountpoint="/bigdisk", part_type="raid",
                           level="1", members=("sda2", "sdb1")),))


def _store(svc, layout: Layout) -> None:  # type: ignore[no-untyped-def]
    with svc.db.session(write=True) as session:
        partition_reports.store_report(session, hosts.get_host(session, "compute-0-0").id, layout)


def _db_info(svc) -> DbInfo:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        info = partition_reports.db_info(session, hosts.get_host(session, "compute-0-0").id)
    return parse_db_info(info.to_json())  # what the installer reads back


def test_a_report_round_trips_to_the_installer_exactly(svc):
    _store(svc, REPORT)
    info = _db_info(svc)
    assert info.recorded == REPORT and info.reset is False
    rows = {r.device: r for r in partitions.list_partitions(svc, ["compute-0-0"])}
    assert (rows["sda1"].start, rows["sda1"].size, rows["sda1"].flags) == ("2048s", "33554432s", "boot")
    assert (rows["md0"].flags, rows["md0"].format_flags) == ("sda2 sdb1", "--level=1")
    assert rows["sdc"].mountpoint == rows["sdc"].size == ""  # Rocks' empty-disk record


def test_records_follow_remove_and_add(svc):
    _store(svc, REPORT)
    partitions.remove_partitions(svc, ["compute-0-0"], "/state/partition1")
    assert _db_info(svc).recorded.disk("sda").partition("sda5") is None
    partitions.remove_partitions(svc, ["compute-0-0"])
    assert _db_info(svc).recorded == Layout()
    partitions.add_partition(svc, "compute-0-0", PartitionSpec("sda5", "/state/partition1", "2048000s", "xfs",
                                                                start="41945088s"))
    record = _db_info(svc).recorded.disk("sda").partition("sda5")
    assert (record.start, record.size, record.fstype) == (41945088, 2048000, "xfs")
    with pytest.raises(InvalidArgument):
        partitions.add_partition(svc, "compute-0-0", PartitionSpec("sda6", "/x", "lots"))


def test_reset_and_plan_state(svc):
    partitions.set_reset(svc, ["compute-0-0"], True)
    assert _db_info(svc).reset is True
    assert [(s.host, s.reset) for s in partitions.partition_states(svc, [])] == [("compute-0-0", True)]
    _store(svc, REPORT)
    assert _db_info(svc).reset is False and partitions.partition_states(svc, []) == []
    with svc.db.session(write=True) as session:
        host_id = hosts.get_host(session, "compute-0-0").id
        with pytest.raises(InvalidArgument):
            partition_reports.store_plan(session, host_id, {"plan": {}, "text": "x" * 300_000})
        partition_reports.store_plan(session, host_id, {"plan": {"stop": "no"}, "text": "STOP: no\n"})
    assert partitions.partition_states(svc, ["compute-0-0"])[0].plan_text == "STOP: no\n"
    with pytest.raises(InvalidArgument):
        partitions.set_reset(svc, [], True)


def test_report_plan_needs_a_report(svc):
    with pytest.raises(NotFound, match="no partition report from compute-0-1 yet"):
        partitions.report_plan(svc, "compute-0-1")
    with pytest.raises(NotFound):
        partitions.report_plan(svc, "nosuchhost")


def test_kickstart_read_matches_the_session_read(svc):
    """``db_info_by_query`` (the kickstart path, plain statements on the snapshot's connection) says what
    db_info/has_plan say."""
    _store(svc, REPORT)
    with svc.db.session(write=True) as session:
        host_id = hosts.get_host(session, "compute-0-0").id
        partition_reports.store_plan(session, host_id, {"plan": {"stop": "no"}, "text": "STOP: no\n"})
    partitions.set_reset(svc, ["compute-0-0"], True)
    with svc.db.session() as session:
        ids = [h.id for h in hosts.list_hosts(session)]
        single = {hid: (partition_reports.db_info(session, hid).to_json(),
                        partition_reports.has_plan(session, hid)) for hid in ids}
    snap = InventorySnapshot(svc.db)
    bulk = {hid: partition_reports.db_info_by_query(snap.query, hid) for hid in ids}
    assert bulk == single and bulk[host_id][1] is True and len(ids) > 1
    assert parse_db_info(bulk[host_id][0]).recorded == REPORT
