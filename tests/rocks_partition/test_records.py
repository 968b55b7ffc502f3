"""The wire format: typed records, strict JSON, Rocks' header parsed as a literal (never evaluated)."""

from __future__ import annotations

import json

import pytest

from rocks_partition.records import (
    DbInfo,
    DiskRecord,
    Layout,
    PartitionError,
    PartitionRecord,
    ReportError,
    disk_of,
    layout_from_rocks,
    parse_db_info,
    parse_report_json,
    parse_rocks_header,
    parse_rocks_string,
    parted_size_to_sectors,
)

AGLT2 = ("{'sda': [('sda1','32.3kB','16.8GB','','ext3','boot','','/'), "
         "('sda2','16.8GB','4195MB','','ext3','','','/var'), "
         "('sda3','21.0GB','1045MB','','linux-swap','','','swap'), "
         "('sda4','22.0GB','10.2GB','','','','',''), "
         "('sda5','22.0GB','10.2GB','','ext3','','','/state/partition1')]}")


def sample() -> Layout:
    parts = (PartitionRecord("sda1", 2048, 2048, flags=("bios_grub",)),
             PartitionRecord("sda2", 4096, 16384000, fstype="xfs", mountpoint="/", marker=True),
             PartitionRecord("sda3", 16388096, 1000000, fstype="ext4", mountpoint="/state/partition1",
                             part_type="logical"))
    md = PartitionRecord("md0", part_type="raid", level="1", members=("sdb1", "sdc1"), mountpoint="/bigdisk",
                         fstype="ext3")
    return Layout(disks=(DiskRecord("sda", 33554432, 512, "gpt", parts), DiskRecord("sdb")), raids=(md,))


def test_json_round_trip_and_typed_sizes():
    layout = sample()
    back = parse_report_json(layout.to_json())
    assert back == layout
    part = back.disk("sda").partition("sda2")
    assert part.start_bytes == 4096 * 512 and part.size_mib == 8000
    assert back.disk("sda").marker and not back.disk("sdb").marker
    assert parse_report_json(layout.to_json().encode()) == layout


def test_rocks_tuples_and_the_empty_disk_record():
    rocks = sample().to_rocks()
    assert rocks["sdb"] == [("sdb", "", "", "", "", "", "", "")]
    assert rocks["sda"][1] == ("sda2", "4096s", "16384000s", "", "xfs", "", "", "/")
    assert rocks["md0"] == [("md0", "0s", "0s", "", "ext3", "sdb1 sdc1", "--level=1", "/bigdisk")]
    assert parse_rocks_string("sdb,,,,,,,") == ("sdb", "", "", "", "", "", "", "")
    back = layout_from_rocks({"sdb": [parse_rocks_string("sdb,,,,,,,")]})
    assert back.disk("sdb").partitions == ()


def test_rocks_header_parsed_as_literal():
    layout = parse_rocks_header(AGLT2)
    sda = layout.disk("sda")
    assert [p.mountpoint for p in sda.partitions] == ["/", "/var", "swap", "", "/state/partition1"]
    assert sda.partition("sda1").size == parted_size_to_sectors("16.8GB") == 32812500
    assert sda.partition("sda1").flags == ("boot",)
    raid = parse_rocks_header("{'md0': [('md0','','','','ext3','raid.sda3 raid.sdb3','--level=1',"
                              "'/bigdisk')]}")
    assert raid.raids[0].members == ("sda3", "sdb3") and raid.raids[0].level == "1"


@pytest.mark.parametrize("attack", [
    "__import__('os').system('touch /tmp/pwned')",
    "{'sda': [('sda1',) * 8]} if True else 0",
    "{'sda': [(open('/etc/passwd').read(),'','','','','','','')]}",
    "[" * 100000 + "]" * 100000,
    "{'sda': " + "[" * 50 + "]" * 50 + "}",
    "x" * 70000,
    "{'sda': [('sda1','1GB','1GB','','ext4','','','/; rm -rf /')]}",
    "{'sda': [('../../etc','1GB','1GB','','ext4','','','/')]}",
    "{'sda': [('sda1','1e400GB','1GB','','ext4','','','/')]}",
    "{'sda': [('sda1','%sGB','1GB','','ext4','','','/')]}" % ("9" * 400),
])
def test_rocks_header_attacks_are_refused(attack, tmp_path):
    with pytest.raises(ReportError):
        parse_rocks_header(attack)


@pytest.mark.parametrize("text,where", [
    ('{"version": 2}', "report.version"),
    ('{"disks": {"sda": {"partitions": [{"device": "sda1", "size": -1}]}}}', "disks.sda.partitions[0].size"),
    ('{"disks": {"sda": {"partitions": [{"device": "sda1", "size": "16.8GB"}]}}}', "size"),
    ('{"disks": {"sda": {"partitions": [{"device": "sda1", "size": true}]}}}', "size"),
    ('{"disks": {"sda": {"partitions": [{"device": "sda1", "evil": 1}]}}}', "unknown field(s) evil"),
    ('{"disks": {"sda": {"label": "bsd"}}}', "disks.sda.label"),
    ('{"disks": {"sda": {}, "sda": {}}}', "duplicate key"),
    ('{"disks": {"sda": {"partitions": [{"device": "sda1"}, {"device": "sda1"}]}}}', "appears twice"),
    ('{"disks": {"sda": {"partitions": [{"device": "sda1", "mountpoint": "a b"}]}}}', "mountpoint"),
    ('{"disks": ' + "[" * 40 + "]" * 40 + "}", "nests deeper"),
    ("not json", "not valid JSON"),
    ("[]", "expected an object"),
])
def test_json_report_errors_name_the_field(text, where):
    with pytest.raises(ReportError) as err:
        parse_report_json(text)
    assert where in str(err.value)
    assert isinstance(err.value, PartitionError)


def test_huge_json_is_refused_before_parsing():
    with pytest.raises(ReportError, match="larger than"):
        parse_report_json(b" " * (2 << 20))
    many = {"disks": {"sda": {"partitions": [{"device": "sda%d" % i} for i in range(300)]}}}
    with pytest.raises(ReportError, match="more than 256"):
        parse_report_json(json.dumps(many))


def test_db_info_carries_the_reset_flag():
    info = parse_db_info(DbInfo(recorded=sample(), reset=True).to_json())
    assert info.reset and info.recorded == sample()
    assert not parse_db_info("{}").reset


@pytest.mark.parametrize("device,disk", [("sda5", "sda"), ("nvme0n1p2", "nvme0n1"), ("md0", "md0"),
                                         ("cciss/c0d0p1", "cciss/c0d0"), ("/dev/sdb1", "sdb")])
def test_disk_of(device, disk):
    assert disk_of(device) == disk
