"""Installs on disk-image files through the installer simulator: each case states what is kept and what is
formatted, and checks that no byte of a kept partition changed."""

from __future__ import annotations

import json

import pytest

from rocks_partition.records import DbInfo, parse_report_json
from tests.installer_plugin.conftest import site_pre, user_pre
from tests.installer_plugin.sim import fingerprints, get_file, partitions, put_file, remove_file

pytestmark = pytest.mark.slow

TALK_DISK = "variants/replace-partition-talk-disk.xml"
TALK_RAID = "variants/replace-partition-talk-raid.xml"
TALK_NODE = "variants/replace-partition-talk-compute-0-0.xml"


def last_report(frontend) -> dict:
    reports = [body for path, body in frontend.posts if path.startswith("/install/sbin/public/partitions?")]
    assert reports, frontend.posts
    return reports[-1]


def db_from(frontend, reset: bool = False) -> str:
    """What the server would hand back on the next install: the last report, parsed by the shared module."""
    return DbInfo(recorded=parse_report_json(json.dumps(last_report(frontend))), reset=reset).to_json()


def assert_kept(before: dict, after: dict, devices: list[str]) -> None:
    for device in devices:
        assert before[device] == after[device], "%s changed" % device


def test_fresh_single_disk_gets_the_default_scheme(tmp_path, make_disk, sim, build_ks, frontend):
    sda = make_disk("sda")
    result = sim({"sda": sda}).install(build_ks(site_pre(None, tmp_path)))
    # formatted: everything (a blank disk); kept: nothing
    assert not result.stopped and not result.kept, result.log()
    assert result.created == {"sda1": "biosboot", "sda2": "/boot", "sda3": "/", "sda4": "/var",
                              "sda5": "swap", "sda6": "/state/partition1"}
    assert result.formatted == {"sda2": "xfs", "sda3": "xfs", "sda4": "xfs", "sda5": "swap", "sda6": "xfs"}
    assert "clear disk on sda (default scheme, root disk)" in result.plan
    report = parse_report_json(json.dumps(last_report(frontend)))
    assert report.disk("sda").partition("sda6").mountpoint == "/state/partition1"
    assert get_file(sda, "sda6", ".rocks-release").endswith("mountpoint=/state/partition1\n")


def test_reinstall_keeps_state_partition_and_reformats_root(tmp_path, make_disk, sim, build_ks, frontend):
    sda = make_disk("sda")
    s = sim({"sda": sda})
    s.install(build_ks(site_pre(None, tmp_path)))
    put_file(sda, "sda6", "precious.txt", "user data")
    before = fingerprints([sda])
    result = s.install(build_ks(site_pre(None, tmp_path), db_info=db_from(frontend)))
    # kept: /boot, swap, /state/partition1 (--noformat); formatted: / and /var
    assert result.kept == {"sda2": "/boot", "sda5": "swap", "sda6": "/state/partition1"}, result.log()
    assert result.formatted == {"sda3": "xfs", "sda4": "xfs"}
    assert "keep /state/partition1 on sda6 (database record, marker)" in result.plan
    assert "format / on sda3 (re-created on every install)" in result.plan
    after = fingerprints([sda])
    assert_kept(before, after, ["sda1", "sda2", "sda5", "sda6"])
    assert before["sda3"] != after["sda3"]
    assert get_file(sda, "sda6", "precious.txt") == "user data"


def test_marker_alone_keeps_partitions_without_a_record(tmp_path, make_disk, sim, build_ks):
    sda = make_disk("sda")
    s = sim({"sda": sda})
    s.install(build_ks(site_pre(None, tmp_path)))
    before = fingerprints([sda])
    result = s.install(build_ks(site_pre(None, tmp_path)))  # the server lost its record
    assert result.kept == {"sda2": "/boot", "sda5": "swap", "sda6": "/state/partition1"}, result.log()
    assert "keep /state/partition1 on sda6 (marker)" in result.plan
    assert_kept(before, fingerprints([sda]), ["sda2", "sda5", "sda6"])


def test_talk_single_disk_program(tmp_path, make_disk, sim, build_ks, frontend):
    sda = make_disk("sda")
    s = sim({"sda": sda})
    result = s.install(build_ks(site_pre(TALK_DISK, tmp_path)))
    # formatted: all four, ext3 as the talk says; kept: nothing
    assert result.created == {"sda1": "/", "sda2": "/var", "sda3": "swap", "sda4": "/mydata"}, result.log()
    assert result.formatted == {"sda1": "ext3", "sda2": "ext3", "sda3": "swap", "sda4": "ext3"}
    assert partitions(sda)["sda1"]["size"] == 6000 << 20
    # reinstall: the program writes its directives again, but sda now holds /mydata: they are refused
    put_file(sda, "sda4", "results.dat", "42")
    before = fingerprints([sda])
    result = s.install(build_ks(site_pre(TALK_DISK, tmp_path), db_info=db_from(frontend)))
    assert result.kept == {"sda3": "swap", "sda4": "/mydata"}, result.log()
    assert result.formatted == {"sda1": "ext3", "sda2": "ext3"}
    assert ("user directive not applied: 'clearpart --all --initlabel --drives=sda': "
            "sda holds kept partitions") in result.plan
    plan_posts = [b for p, b in frontend.posts if p.startswith("/install/sbin/public/partition-plan")]
    assert plan_posts and plan_posts[-1]["plan"]["problems"]
    assert_kept(before, fingerprints([sda]), ["sda3", "sda4"])
    assert get_file(sda, "sda4", "results.dat") == "42"


def test_talk_raid_program_on_two_disks(tmp_path, make_disk, sim, build_ks, frontend):
    sda, sdb = make_disk("sda"), make_disk("sdb", 8)
    result = sim({"sda": sda, "sdb": sdb}).install(build_ks(site_pre(TALK_RAID, tmp_path)))
    # formatted: / and /var on sda; created: raid.sda, raid.sdb members; RAID1 /bigdisk at the plan level
    assert result.created == {"sda1": "/", "sda2": "/var", "sda3": "raid.sda", "sdb1": "raid.sdb"}, \
        result.log()
    assert result.formatted == {"sda1": "ext3", "sda2": "ext3"}
    assert result.raids["md0"]["mountpoint"] == "/bigdisk" and result.raids["md0"]["level"] == "1"
    assert result.raids["md0"]["members"] == ["sda3", "sdb1"]
    report = last_report(frontend)
    assert report["raids"]["md0"]["members"] == ["sda3", "sdb1"]
    assert report["disks"]["sdb"]["partitions"][0]["flags"] == ["raid"]


def test_talk_raid_program_on_one_disk(tmp_path, make_disk, sim, build_ks):
    sda = make_disk("sda")
    result = sim({"sda": sda}).install(build_ks(site_pre(TALK_RAID, tmp_path)))
    assert result.created == {"sda1": "/", "sda2": "/var", "sda3": "swap", "sda4": "/mydata"}, result.log()


@pytest.mark.parametrize("host,raid", [("compute-0-0", True), ("compute-0-1", False)])
def test_talk_node_name_program(host, raid, tmp_path, make_disk, sim, build_ks):
    sda, sdb = make_disk("sda"), make_disk("sdb", 8)
    result = sim({"sda": sda, "sdb": sdb}).install(build_ks(site_pre(TALK_NODE, tmp_path, hostname=host)))
    if raid:  # compute-0-0: the RAID layout
        assert "md0" in result.raids and result.created["sdb1"] == "raid.sdb", result.log()
    else:  # any other node: the default scheme on the first disk, sdb left alone
        assert not result.raids and result.created["sda6"] == "/state/partition1", result.log()
        assert "leave disk on sdb (not a Rocks disk; left untouched)" in result.plan
        assert partitions(sdb) == {}


def test_remove_partitions_and_markers_gives_a_clean_repartition(tmp_path, make_disk, sim, build_ks):
    sda = make_disk("sda")
    s = sim({"sda": sda})
    s.install(build_ks(site_pre(None, tmp_path)))
    for device in ("sda2", "sda3", "sda4", "sda6"):  # the docs' "nukeit.sh": every filesystem's marker
        remove_file(sda, device, ".rocks-release")
    # rocks remove host partition: the server has no record (no db_info)
    result = s.install(build_ks(site_pre(TALK_DISK, tmp_path)))
    assert not result.kept and result.formatted == {"sda1": "ext3", "sda2": "ext3", "sda3": "swap",
                                                     "sda4": "ext3"}, result.log()


def test_one_shot_reset_ignores_markers_and_records(tmp_path, make_disk, sim, build_ks, frontend):
    sda = make_disk("sda")
    s = sim({"sda": sda})
    s.install(build_ks(site_pre(None, tmp_path)))
    result = s.install(build_ks(site_pre(TALK_DISK, tmp_path), db_info=db_from(frontend, reset=True)))
    # kept: nothing; formatted: the talk's whole layout
    assert not result.kept and set(result.formatted) == {"sda1", "sda2", "sda3", "sda4"}, result.log()
    assert "reset markers and recorded layouts (one-shot reset requested)" in result.plan


def _foreign(make_disk, name: str):
    """A disk from elsewhere: a partition table and an ext4 filesystem with data, no marker."""
    import subprocess

    import parted
    path = make_disk(name, 4)
    dev = parted.getDevice(str(path))
    disk = parted.freshDisk(dev, "msdos")
    geom = parted.Geometry(device=dev, start=2048, end=2048 + 1024 * 2048 - 1)
    part = parted.Partition(disk=disk, type=parted.PARTITION_NORMAL,
                            fs=parted.FileSystem(type="ext4", geometry=geom), geometry=geom)
    disk.addPartition(part, parted.Constraint(exactGeom=geom))
    disk.commitToDevice()
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-E", "offset=%d" % (2048 * 512), str(path), "1024M"],
                   check=True)
    put_file(path, name + "1", "theirs.txt", "foreign")
    return path


def test_root_disk_only_leaves_a_foreign_disk_alone(tmp_path, make_disk, sim, build_ks):
    sda, sdb = make_disk("sda"), _foreign(make_disk, "sdb")
    before = fingerprints([sdb])
    result = sim({"sda": sda, "sdb": sdb}).install(build_ks(site_pre(None, tmp_path)))
    assert "leave disk on sdb (not a Rocks disk; left untouched)" in result.plan, result.log()
    assert fingerprints([sdb]) == before


def test_force_default_clears_a_foreign_disk(tmp_path, make_disk, sim, build_ks):
    sda, sdb = make_disk("sda"), _foreign(make_disk, "sdb")
    result = sim({"sda": sda, "sdb": sdb}).install(build_ks(user_pre("rocks force-default\n")))
    # formatted: the default scheme on sda and /state/partition2 over all of sdb
    assert result.created["sdb1"] == "/state/partition2" and result.formatted["sdb1"] == "xfs", result.log()
    assert get_file(sdb, "sdb1", "theirs.txt") is None


def test_replaced_disk_is_repartitioned_and_the_other_kept(tmp_path, make_disk, sim, build_ks, frontend):
    sda, sdb = make_disk("sda"), make_disk("sdb", 8)
    s = sim({"sda": sda, "sdb": sdb})
    s.install(build_ks(user_pre("rocks force-default\n")))
    put_file(sdb, "sdb1", "old.txt", "gone with the disk")
    before = fingerprints([sda])
    sdb.unlink()
    make_disk("sdb", 8)  # a new, blank disk in the same slot
    result = s.install(build_ks(user_pre("rocks force-default\n"), db_info=db_from(frontend)))
    # kept: sda's /boot, swap, /state/partition1; formatted: / and /var on sda, /state/partition2 on new sdb
    assert result.kept == {"sda2": "/boot", "sda5": "swap", "sda6": "/state/partition1"}, result.log()
    assert result.created["sdb1"] == "/state/partition2"
    assert "sdb: disk is blank but has a recorded layout: a replaced disk, record ignored" in result.plan
    assert_kept(before, fingerprints([sda]), ["sda2", "sda5", "sda6"])


def test_recorded_layout_that_no_longer_matches_stops_the_install(tmp_path, make_disk, sim, build_ks,
                                                                  frontend):
    sda = make_disk("sda")
    s = sim({"sda": sda})
    s.install(build_ks(site_pre(None, tmp_path)))
    record = json.loads(db_from(frontend))
    record["disks"]["sda"]["partitions"][5]["size"] += 2048  # the disk was changed behind the server's back
    before = fingerprints([sda])
    result = s.install(build_ks(site_pre(None, tmp_path), db_info=json.dumps(record)))
    # kept: everything; formatted: nothing
    assert result.stopped and not result.formatted and not result.created, result.log()
    assert "sda6 size recorded" in result.plan and "STOP" in result.plan
    assert fingerprints([sda]) == before
    stop = [b for p, b in frontend.posts if p.startswith("/install/sbin/public/partition-plan")][-1]
    assert "does not match" in stop["plan"]["stop"]


def test_user_directives_on_a_marked_disk_are_reported_not_applied(tmp_path, make_disk, sim, build_ks,
                                                                   frontend):
    sda = make_disk("sda")
    s = sim({"sda": sda})
    s.install(build_ks(site_pre(None, tmp_path)))
    before = fingerprints([sda])
    result = s.install(build_ks(user_pre("clearpart --all --initlabel --drives=sda\n"
                                         "part / --size=4000 --ondisk=sda\n")))
    assert result.kept == {"sda2": "/boot", "sda5": "swap", "sda6": "/state/partition1"}, result.log()
    assert "refuse part / --size=4000 --ondisk=sda (sda holds kept partitions)" in result.plan
    assert_kept(before, fingerprints([sda]), ["sda2", "sda5", "sda6"])
    problems = [b for p, b in frontend.posts if p.startswith("/install/sbin/public/partition-plan")][-1]
    assert len(problems["plan"]["problems"]) == 2


def test_manual_leaves_partitioning_to_the_installer(tmp_path, make_disk, sim, build_ks):
    sda = make_disk("sda")
    result = sim({"sda": sda}).install(build_ks(user_pre("rocks manual\n")))
    assert result.manual and result.partition_info == "" and partitions(sda) == {}, result.log()


def test_msdos_disk_gets_logical_partitions_and_keeps_them(tmp_path, make_disk, sim, build_ks, frontend):
    import parted
    sda = make_disk("sda")
    parted.freshDisk(parted.getDevice(str(sda)), "msdos").commitToDevice()
    s = sim({"sda": sda})
    result = s.install(build_ks(site_pre(None, tmp_path)))
    # msdos: no biosboot; /boot, /, /var primary, then an extended partition with swap and /state/partition1
    assert result.created == {"sda1": "/boot", "sda2": "/", "sda3": "/var", "sda5": "swap",
                              "sda6": "/state/partition1"}, result.log()
    report = last_report(frontend)
    assert report["disks"]["sda"]["label"] == "msdos"
    assert report["disks"]["sda"]["partitions"][3]["part_type"] == "extended"
    before = fingerprints([sda])
    result = s.install(build_ks(site_pre(None, tmp_path), db_info=db_from(frontend)))
    assert "leave partition on sda4 (extended)" in result.plan, result.log()
    assert_kept(before, fingerprints([sda]), ["sda1", "sda5", "sda6"])


def test_ext4_and_xfs_data_partitions_are_both_kept(tmp_path, make_disk, sim, build_ks):
    sda = make_disk("sda")
    s = sim({"sda": sda})
    layout = ("clearpart --all --initlabel --drives=sda\n"
              "part / --size=6000 --fstype=xfs --ondisk=sda\n"
              "part /data4 --size=1000 --fstype=ext4 --ondisk=sda\n"
              "part /dataxfs --size=1 --grow --fstype=xfs --ondisk=sda\n")
    result = s.install(build_ks(user_pre(layout)))
    assert result.formatted == {"sda1": "xfs", "sda2": "ext4", "sda3": "xfs"}, result.log()
    put_file(sda, "sda2", "a.txt", "ext4 data")
    put_file(sda, "sda3", "b.txt", "xfs data")
    before = fingerprints([sda])
    result = s.install(build_ks(user_pre(layout)))  # no record: the markers (debugfs / ro mount) decide
    assert result.kept == {"sda2": "/data4", "sda3": "/dataxfs"}, result.log()
    assert_kept(before, fingerprints([sda]), ["sda2", "sda3"])
    assert get_file(sda, "sda2", "a.txt") == "ext4 data" and get_file(sda, "sda3", "b.txt") == "xfs data"
