"""The pure decision (no disks): Rocks' rules §2.2/§2.4, made safe."""

from __future__ import annotations

import pytest

from installer_plugin.decide import Scheme, compare, decide
from installer_plugin.directives import DirectiveError, parse_user_info
from rocks_partition.records import DiskRecord, Layout, PartitionRecord

GIB_SECTORS = 2 * 1024 * 1024


def rocks_disk(name="sda", marker=True, size_gib=100, mountpoints=True) -> DiskRecord:
    def part(n, start, size, fstype, mnt, **kw):
        return PartitionRecord("%s%d" % (name, n), start, size, fstype=fstype,
                               mountpoint=mnt if mountpoints else "", marker=marker and fstype == "xfs", **kw)
    parts = (part(1, 2048, 2048, "", "", flags=("bios_grub",)),
             part(2, 4096, 2097152, "xfs", "/boot"),
             part(3, 2101248, 32768000, "xfs", "/"),
             part(4, 34869248, 8192000, "xfs", "/var"),
             part(5, 43061248, 2048000, "swap", "swap"),
             part(6, 45109248, 100 * GIB_SECTORS - 45109248 - 34, "xfs", "/state/partition1"))
    return DiskRecord(name, size_gib * GIB_SECTORS, 512, "gpt", parts)


def blank(name="sdb", size_gib=100) -> DiskRecord:
    return DiskRecord(name, size_gib * GIB_SECTORS, 512, "")


def test_fresh_disk_default_scheme():
    plan = decide([blank("sda")])
    assert plan.directives == [
        "clearpart --all --initlabel --drives=sda", "reqpart --add-boot",
        "part / --size=16000 --fstype=xfs --ondisk=sda", "part /var --size=4000 --fstype=xfs --ondisk=sda",
        "part swap --size=1000 --ondisk=sda",
        "part /state/partition1 --size=1 --grow --fstype=xfs --ondisk=sda"]
    small = decide([blank("sda", 20)], scheme=Scheme(fstype="ext4", reqpart=False))
    assert "part / --size=8000 --fstype=ext4 --ondisk=sda" in small.directives


def test_marked_disk_keeps_everything_but_root_and_var():
    plan = decide([rocks_disk()])
    assert plan.directives == [
        "part /boot --onpart=sda2 --noformat", "part / --fstype=xfs --onpart=sda3",
        "part /var --fstype=xfs --onpart=sda4", "part swap --onpart=sda5 --noformat",
        "part /state/partition1 --onpart=sda6 --noformat"]
    assert "keep /state/partition1 on sda6 (marker)" in plan.explain()
    assert "format / on sda3 (re-created on every install)" in plan.explain()
    assert "leave partition on sda1 (no known mountpoint)" in plan.explain()


def test_record_match_without_marker_uses_the_record_mountpoints():
    disk = rocks_disk(marker=False, mountpoints=False)
    plan = decide([disk], db=Layout(disks=(rocks_disk(marker=False),)))
    assert "keep /state/partition1 on sda6 (database record)" in plan.explain()


def test_record_mismatch_stops():
    recorded = rocks_disk()
    parts = list(recorded.partitions)
    parts[5] = PartitionRecord(**dict(parts[5].__dict__, fstype="ext4"))
    db = Layout(disks=(DiskRecord("sda", recorded.size, 512, "gpt", tuple(parts)),))
    plan = decide([rocks_disk()], db=db)
    assert plan.stop and plan.partition_info() == "" and plan.directives == []
    assert "sda6 filesystem recorded ext4, on disk xfs" in plan.stop
    assert plan.explain().startswith("STOP:")


def test_compare_reports_every_difference():
    a, b = rocks_disk(), rocks_disk()
    assert compare(a, b) == ""
    fewer = DiskRecord("sda", a.size, 512, "gpt", a.partitions[:-1])
    assert compare(fewer, b) == "sda6 is not in the record"
    assert compare(a, fewer) == "sda6 is missing"


def test_replaced_blank_disk_is_noted_and_used():
    plan = decide([rocks_disk(), blank("sdb")], db=Layout(disks=(rocks_disk(), rocks_disk("sdb"))),
                  user_text="rocks force-default\n")
    assert "sdb: disk is blank but has a recorded layout" in plan.problems[0]
    assert "part /state/partition2 --size=1 --grow --fstype=xfs --ondisk=sdb" in plan.directives
    assert plan.directives[0] == "clearpart --all --initlabel --drives=sdb"


def test_schemes_for_other_disks():
    only_root = decide([blank("sda"), blank("sdb"), blank("sdc")])
    assert only_root.directives[0] == "clearpart --all --initlabel --drives=sda"
    assert "leave disk on sdc (not a Rocks disk; left untouched)" in only_root.explain()
    everything = decide([blank("sda"), blank("sdb"), blank("sdc")], user_text="rocks force-default\n")
    assert everything.directives[0] == "clearpart --all --initlabel --drives=sda,sdb,sdc"
    assert "part /state/partition3 --size=1 --grow --fstype=xfs --ondisk=sdc" in everything.directives


def test_kept_root_on_one_disk_data_on_a_new_one():
    plan = decide([rocks_disk(), blank("sdb")], user_text="rocks force-default\n")
    assert "part /state/partition2 --size=1 --grow --fstype=xfs --ondisk=sdb" in plan.directives
    assert not any(line.startswith("part / --size") for line in plan.directives)


def test_user_directives_verbatim_when_nothing_is_kept():
    text = "clearpart --all --initlabel --drives=sda\npart / --size 8000 --ondisk sda\n"
    assert decide([blank("sda")], user_text=text).directives == text.splitlines()


def test_user_directives_touching_a_kept_disk_are_refused_and_reported():
    text = "clearpart --all --initlabel --drives=sda,sdb\npart / --size=8000 --ondisk=sda\n" \
           "part /scratch --size=1 --grow --ondisk=sdb\n"
    plan = decide([rocks_disk(), blank("sdb")], user_text=text)
    assert len(plan.problems) == 3
    assert "user directive not applied: 'part / --size=8000 --ondisk=sda': sda holds kept partitions" \
        in plan.problems
    assert "part of a layout that cannot be applied" in plan.problems[2]
    assert "part /scratch" not in plan.partition_info()
    assert "keep /state/partition1 on sda6 (marker)" in plan.explain()


def test_user_directives_on_free_disks_only_are_applied_next_to_kept_ones():
    text = "clearpart --all --initlabel --drives=sdb\npart /scratch --size=1 --grow --ondisk=sdb\n"
    plan = decide([rocks_disk(), blank("sdb")], user_text=text)
    assert not plan.problems and "part /scratch --size=1 --grow --ondisk=sdb" in plan.directives
    assert "part /state/partition1 --onpart=sda6 --noformat" in plan.directives


def test_reset_and_frontend():
    reset = decide([rocks_disk()], db=Layout(disks=(rocks_disk(),)), reset=True)
    assert reset.directives[0] == "clearpart --all --initlabel --drives=sda" and not reset.kept
    frontend = decide([rocks_disk()], frontend=True)  # Rocks' "build": markers ignored
    assert frontend.directives[0] == "clearpart --all --initlabel --drives=sda"


def test_manual():
    plan = decide([rocks_disk()], user_text="rocks manual\n")
    assert plan.manual and plan.directives == [] and "rocks-console" in plan.explain()


def test_raid_kept_when_all_members_are_kept():
    def member_disk(name):
        return DiskRecord(name, 10 * GIB_SECTORS, 512, "gpt", (
            PartitionRecord(name + "1", 2048, 4096000, fstype="xfs",
                            mountpoint="/" if name == "sda" else "/x", marker=True),
            PartitionRecord(name + "2", 4098048, 4096000, flags=("raid",))))
    md = PartitionRecord("md0", part_type="raid", level="1", members=("sda2", "sdb2"), mountpoint="/bigdisk")
    plan = decide([member_disk("sda"), member_disk("sdb")], db=Layout(raids=(md,)))
    assert "part raid.sda2 --onpart=sda2 --noformat" in plan.directives
    assert "raid /bigdisk --device=md0 --useexisting --noformat --level=1" in plan.directives


def test_second_root_on_another_disk_is_left_and_reported():
    plan = decide([rocks_disk("sda"), rocks_disk("sdb")])
    assert "part / --fstype=xfs --onpart=sdb3" not in plan.directives
    assert any("/ on sdb3" in p for p in plan.problems)


@pytest.mark.parametrize("text,where", [
    ("prat / --size=1\n", "line 1 column 1: unknown partitioning directive 'prat'"),
    ("\n  part / --sise=100\n", "line 2 column 10: part: unknown option --sise"),
    ("part / --size=big\n", "--size must be a whole number"),
    ("part /averyveryverylongmountpoint --size=1\n", "longer than 15"),
    ("part / --size=1 --ondisk\n", "--ondisk needs a value"),
    ("rocks force-everything\n", "unknown scheme"),
    ("raid /x --level=1 raid.1 raid.2\n", "--device is required"),
    ("part / 'unterminated\n", "No closing quotation"),
])
def test_bad_directives_name_line_and_column(text, where):
    with pytest.raises(DirectiveError) as err:
        parse_user_info(text)
    assert where in str(err.value)
    assert "/tmp/user_partition_info" in str(err.value)
    plan = decide([blank("sda")], user_text=text)  # a typo stops the install instead of guessing
    assert where in plan.stop and plan.directives == []


def test_every_directive_kind_is_parsed():
    text = ("zerombr\nignoredisk --only-use=sda\nclearpart --all --initlabel --drives=sda\n"
            "part raid.01 --size=1000 --ondisk=sda\npartition pv.01 --size=1 --grow --ondrive=sda\n"
            "raid /data --level=1 --device=md0 raid.01 raid.02\nvolgroup vg0 pv.01\n"
            "logvol /home --vgname=vg0 --name=home --size=100 --fstype=xfs\n# comment\n")
    info = parse_user_info(text)
    assert [d.kind for d in info.directives] == ["zerombr", "ignoredisk", "clearpart", "part", "part", "raid",
                                                 "volgroup", "logvol"]
    assert info.directives[4].opt("ondisk") == "sda" and info.directives[4].disks() == ["sda"]
