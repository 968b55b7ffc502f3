"""Discovery through pyparted on image files, markers (debugfs on ext*, mounts for xfs), the Rocks API."""

from __future__ import annotations

import subprocess
from pathlib import Path

import parted
import pytest

from rocks_partition import RocksPartition, probe
from rocks_partition.records import PartitionRecord

MIB = 1 << 20


def image(path: Path, label: str, parts: list[tuple[int, str]], gib: int = 2) -> Path:
    """parts: (size MiB, fstype or '') laid out from 1 MiB; filesystems made in place or via a side file."""
    with open(path, "wb") as f:
        f.truncate(gib << 30)
    dev = parted.getDevice(str(path))
    disk = parted.freshDisk(dev, label)
    start = 2048
    for size, _fstype in parts:
        geom = parted.Geometry(device=dev, start=start, end=start + size * 2048 - 1)
        part = parted.Partition(disk=disk, type=parted.PARTITION_NORMAL, geometry=geom)
        disk.addPartition(part, parted.Constraint(exactGeom=geom))
        start += size * 2048
    disk.commitToDevice()
    start = 2048
    for size, fstype in parts:
        if fstype.startswith("ext"):
            subprocess.run(["mke2fs", "-q", "-F", "-t", fstype, "-E", "offset=%d" % (start * 512), str(path),
                            "%dM" % size], check=True)
        elif fstype == "xfs":
            side = path.with_suffix(".xfs")
            with open(side, "wb") as f:
                f.truncate(size * MIB)
            subprocess.run(["mkfs.xfs", "-q", "-f", str(side)], check=True)
            subprocess.run(["dd", "if=%s" % side, "of=%s" % path, "bs=1M", "seek=%d" % (start // 2048),
                            "conv=notrunc,sparse", "status=none"], check=True)
            side.unlink()
        start += size * 2048
    return path


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    """xfs markers are read through a mount: its temp mount point stays inside the test's directory."""
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture
def disks(tmp_path: Path) -> dict[str, str]:
    sda = image(tmp_path / "sda.img", "gpt", [(512, "ext4"), (512, "xfs"), (256, "")])
    sdb = image(tmp_path / "sdb.img", "msdos", [(300, "ext3")])
    sdc = tmp_path / "sdc.img"
    sdc.write_bytes(b"")
    with open(sdc, "wb") as f:
        f.truncate(1 << 30)
    return {"sda": str(sda), "sdb": str(sdb), "sdc": str(sdc)}


def test_read_disk_types_sizes_and_labels(disks):
    layout = probe.discover(disks)
    sda = layout.disk("sda")
    assert sda.label == "gpt" and sda.size == 4 * 1024 * 1024
    assert [(p.device, p.start, p.size, p.fstype) for p in sda.partitions] == [
        ("sda1", 2048, 512 * 2048, "ext4"), ("sda2", 2048 + 512 * 2048, 512 * 2048, "xfs"),
        ("sda3", 2048 + 1024 * 2048, 256 * 2048, "")]
    assert layout.disk("sdb").label == "msdos" and layout.disk("sdb").partitions[0].fstype == "ext3"
    assert layout.disk("sdc").label == "" and layout.disk("sdc").partitions == ()
    assert not any(p.marker for p in layout.all_partitions())


def test_markers_on_ext_without_mounting_and_on_xfs_through_a_mount(disks):
    layout = probe.discover(disks)
    ext4, xfs = layout.disk("sda").partitions[:2]
    before = Path(disks["sda"]).read_bytes()[ext4.start_bytes:ext4.start_bytes + MIB]
    assert probe.read_marker(disks["sda"], ext4) is None
    assert Path(disks["sda"]).read_bytes()[ext4.start_bytes:ext4.start_bytes + MIB] == before  # read-only
    probe.write_marker(disks["sda"], ext4, "/state/partition1")
    probe.write_marker(disks["sda"], xfs, "/scratch")
    layout = probe.discover(disks)
    ext4, xfs = layout.disk("sda").partitions[:2]
    assert ext4.marker and ext4.mountpoint == "/state/partition1"
    assert xfs.marker and xfs.mountpoint == "/scratch"


def test_rocks_era_marker_without_a_mountpoint(disks, tmp_path):
    ext3 = probe.discover(disks).disk("sdb").partitions[0]
    local = tmp_path / "release"
    local.write_text("Rocks release 6.2 (SideWinder)\n")
    subprocess.run(["debugfs", "-w", "-R", "write %s .rocks-release" % local,
                    "%s?offset=%d" % (disks["sdb"], ext3.start_bytes)], check=True, capture_output=True)
    part = probe.discover(disks).disk("sdb").partitions[0]
    assert part.marker and part.mountpoint == ""


def test_device_map_from_the_environment(disks, monkeypatch):
    import json
    raids = {"md0": {"level": "1", "members": ["a1", "b1"]}}
    monkeypatch.setenv(probe.ENV_DEVICES, json.dumps({"disks": {"sdb": disks["sdb"]}, "raids": raids}))
    p = RocksPartition()
    assert p.getDisks() == ["sdb"] and p.getRaids() == ["md0"]
    assert probe.discover().raids[0].members == ("a1", "b1")


@pytest.mark.parametrize("name,skipped", [("loop0", True), ("ram1", True), ("zram0", True), ("sr0", True),
                                          ("md127", True), ("dm-0", True), ("sda", False),
                                          ("nvme0n1", False)])
def test_not_disks(name, skipped):
    assert bool(probe._NOT_DISKS.match(name)) == skipped


def test_install_media_disks_are_found_from_mounts(monkeypatch, tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sdb1 /run/install/repo iso9660 ro 0 0\n/dev/sr0 /mnt/cd udf ro 0 0\n"
                      "/dev/sda3 / xfs rw 0 0\n")
    real_open = open
    monkeypatch.setattr("builtins.open",
                        lambda p, *a, **k: real_open(mounts if p == "/proc/mounts" else p, *a, **k))
    assert probe._media_disks() == {"sdb", "sr"}


def test_rocks_api_on_image_files(disks):
    p = RocksPartition(disks)
    assert p.getDisks() == ["sda", "sdb", "sdc"]
    info = p.getNodePartInfo(["sda", "sdc"])
    assert info["sdc"] == [("sdc", "", "", "", "", "", "", "")]
    assert info["sda"][0] == ("sda1", "2048s", "1048576s", "", "ext4", "", "", "")
    assert not p.isRocksDisk(info["sda"])
    assert p.isRocksDisk(info["sda"], touchit=1) and p.isRocksDisk(info["sda"])
    assert p.compareDiskInfo(info["sda"], list(reversed(info["sda"])))
    assert not p.compareDiskInfo(info["sda"], info["sda"][:1])
    lines = p.addPartitions([("sda1", "2048s", "1048576s", "", "ext4", "", "", "/"),
                             ("sda2", "", "", "", "xfs", "", "", "/state/partition1"),
                             ("sda3", "", "", "", "", "raid", "", "raid.sda3"),
                             ("sda4", "", "", "", "", "", "", "")], 0)
    assert lines == ["part / --fstype=ext4 --onpart=sda1", "part /state/partition1 --onpart=sda2 --noformat",
                     "part raid.sda3 --noformat --onpart=sda3"]
    assert p.defaultRootDisk("sdb") == ["part /state/partition2 --size=1 --fstype=xfs --grow --ondisk=sdb"]
    assert p.defaultDataDisk("sdc") == ["part /state/partition3 --size=1 --fstype=xfs --grow --ondisk=sdc"]
    fresh = RocksPartition(disks)
    assert fresh.defaultRootDisk("sda")[0] == "part / --size=16000 --fstype=xfs --ondisk=sda"
    assert fresh.RocksGetPartsize("var") == 4000


def test_partition_names():
    assert probe.partition_name("sda", 5) == "sda5"
    assert probe.partition_name("nvme0n1", 2) == "nvme0n1p2"
    assert PartitionRecord("sda1", 2048, 2048).size_bytes == MIB
