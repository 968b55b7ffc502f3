"""VMManager and move_vm against libvirt's test driver (in-process, isolated per test)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from xenvm import (
    DiskSpec,
    DomainNotFound,
    InvalidSpec,
    InvalidState,
    MoveError,
    NicSpec,
    StorageError,
    VMManager,
    VMSpec,
)
from xenvm.domain import describe

pytest.importorskip("libvirt", reason="libvirt-python not installed")


@pytest.fixture
def spec(tmp_path):
    disks = tmp_path / "src-disks"
    disks.mkdir()  # the test driver's pools are fake; save() writes a real file into this dir
    return VMSpec(
        "compute-0-0-0",
        memory_mb=128,
        vcpus=1,
        domain_type="test",
        disks=[DiskSpec("compute-0-0-0.vda", str(disks), size_gb=4)],
        nics=[NicSpec("76:77:6e:40:00:00", "eth0"), NicSpec("52:54:00:00:00:07", kind="user")],
    )


@pytest.fixture
def mgr(test_hv):
    return VMManager(test_hv)


def test_create_defines_persistently_with_storage_and_starts(mgr, spec, test_hv):
    assert mgr.create(spec) == "active"
    pool = test_hv.pool_for_path(spec.disks[0].prefix)
    assert test_hv.volume_exists(pool, "compute-0-0-0.vda")
    assert test_hv.volume_info(pool, "compute-0-0-0.vda")[0] == 4 * 1024**3
    facts = describe(test_hv.defined_xml(spec.name))
    assert facts.boot == ("network", "hd") and facts.memory_kib == 128 * 1024
    assert [n[0] for n in facts.nics] == ["76:77:6e:40:00:00", "52:54:00:00:00:07"]
    assert mgr.create(spec) == "active"  # idempotent: existing volume kept, no second start
    assert mgr.ensure_storage(spec) == []


def test_disk_without_size_must_exist(mgr, spec, test_hv):
    sizeless = dataclasses.replace(spec, disks=(dataclasses.replace(spec.disks[0], size_gb=0),))
    with pytest.raises(StorageError, match="does not exist on container test-container and has no size"):
        mgr.create(sizeless)
    mgr.ensure_storage(spec)
    assert mgr.create(sizeless) == "active"  # an existing image is used as it is


def test_start_redefines_on_drift_and_keeps_uuid(mgr, spec, test_hv):
    assert mgr.start(spec) == "active"  # undefined -> create (Rocks: create is an alias of start)
    uuid = test_hv.uuid(spec.name)
    assert mgr.stop(spec.name) == "shutoff"
    bigger = dataclasses.replace(spec, memory_mb=256, vcpus=2, boot=("hd",))
    assert [d.split(":")[0] for d in mgr.drift(bigger)] == ["memory_kib", "vcpus", "boot"]
    assert mgr.start(bigger) == "active"
    assert mgr.drift(bigger) == []
    assert describe(test_hv.defined_xml(spec.name)).memory_kib == 256 * 1024
    assert test_hv.uuid(spec.name) == uuid


def test_state_transitions_and_bad_states(mgr, spec):
    mgr.create(spec)
    with pytest.raises(
        InvalidState, match="cannot resume VM compute-0-0-0 on container test-container: it is active"
    ):
        mgr.resume(spec.name)
    assert mgr.pause(spec.name) == "paused"
    with pytest.raises(InvalidState, match="it is paused"):
        mgr.pause(spec.name)
    assert mgr.start(spec) == "paused"  # start leaves a paused VM alone
    assert mgr.resume(spec.name) == "active"
    path = mgr.save(spec.name)
    assert path == os.path.join(spec.disks[0].prefix, "compute-0-0-0.saved") and os.path.exists(path)
    assert mgr.status(spec.name) == "shutoff"
    with pytest.raises(InvalidState, match="it is shutoff"):
        mgr.pause(spec.name)
    with pytest.raises(InvalidState, match="it is shutoff"):
        mgr.save(spec.name)
    assert mgr.restore(path) == spec.name
    assert mgr.status(spec.name) == "active"
    assert mgr.stop(spec.name) == "shutoff"
    assert mgr.stop(spec.name) == "shutoff"  # power cord already out: no error


def test_unknown_vm(mgr):
    for op in (mgr.stop, mgr.pause, mgr.resume, mgr.save, mgr.remove):
        with pytest.raises(DomainNotFound, match="VM nope is not defined on container test-container"):
            op("nope")
    assert mgr.status("nope") == "undefined"


def test_remove_keeps_disks_unless_purged(mgr, spec, test_hv):
    mgr.create(spec)
    with pytest.raises(InvalidState, match="stop it first"):
        mgr.remove(spec.name)
    mgr.stop(spec.name)
    assert mgr.remove(spec.name) == []
    pool = test_hv.pool_for_path(spec.disks[0].prefix)
    assert mgr.status(spec.name) == "undefined" and test_hv.volume_exists(pool, "compute-0-0-0.vda")
    mgr.create(spec)
    mgr.stop(spec.name)
    assert mgr.remove(spec.name, purge=True) == [spec.disks[0].path]
    assert not test_hv.volume_exists(pool, "compute-0-0-0.vda")


def test_move_preflight_changes_nothing(make_test_hv, spec, tmp_path):
    src, dst = make_test_hv("vm-container-0-0"), make_test_hv("vm-container-0-1")
    VMManager(src).create(spec)
    dst_dir = str(tmp_path / "dst")
    with pytest.raises(InvalidSpec, match="same container"):
        VMManager(src).move(spec, src, dst_dir)
    VMManager(dst).create(spec)  # a VM of that name already lives on the destination
    with pytest.raises(InvalidState, match="already exists on container vm-container-0-1"):
        VMManager(src).move(spec, dst, dst_dir)
    assert src.state(spec.name) == "active"
    other = make_test_hv("vm-container-0-2")
    pool = other.ensure_dir_pool(None, dst_dir)
    other.create_volume(pool, "compute-0-0-0.vda", 1)  # someone else's disk with that name
    with pytest.raises(StorageError, match="refusing to overwrite"):
        VMManager(src).move(spec, other, dst_dir)
    assert src.state(spec.name) == "active" and other.state(spec.name) == "undefined"
    src_pool = src.pool_for_path(spec.disks[0].prefix)
    src.delete_volume(src_pool, "compute-0-0-0.vda")
    with pytest.raises(StorageError, match="disk .* is missing on container vm-container-0-0"):
        VMManager(src).move(spec, make_test_hv("vm-container-0-3"), dst_dir)
    with pytest.raises(DomainNotFound):
        VMManager(src).move(dataclasses.replace(spec, name="ghost"), dst, dst_dir)


def test_move_failure_restores_vm_on_source(make_test_hv, spec, tmp_path):
    # The test driver cannot stream volumes, so the copy fails after the save: the VM must come back.
    src, dst = make_test_hv("vm-container-0-0"), make_test_hv("vm-container-0-1")
    VMManager(src).create(spec)
    dst_dir = str(tmp_path / "dst")
    with pytest.raises(MoveError) as info:
        VMManager(src).move(spec, dst, dst_dir)
    err = info.value
    assert "cannot move VM compute-0-0-0 from vm-container-0-0 to vm-container-0-1" in str(err)
    assert "the VM was restored on vm-container-0-0" in str(err) and "\n" not in str(err)
    assert (err.restorable_on, err.saved_path) == ("vm-container-0-0", None)
    assert src.state(spec.name) == "active"
    assert src.volume_exists(src.pool_for_path(spec.disks[0].prefix), "compute-0-0-0.vda")
    assert dst.state(spec.name) == "undefined" and dst.list_domains() == []
    dst_pool = dst.pool_for_path(dst_dir)
    assert not dst.volume_exists(dst_pool, "compute-0-0-0.vda")  # partial copy cleaned up


def test_move_failure_can_leave_vm_saved(make_test_hv, spec, tmp_path):
    src, dst = make_test_hv("a"), make_test_hv("b")
    VMManager(src).create(spec)
    from xenvm.move import move_vm

    with pytest.raises(MoveError) as info:
        move_vm(spec, src, dst, str(tmp_path / "dst"), restore_on_failure=False)
    saved = os.path.join(spec.disks[0].prefix, "compute-0-0-0.saved")
    assert info.value.saved_path == saved and "restore it there" in str(info.value)
    assert src.state(spec.name) == "shutoff" and os.path.exists(saved)
    assert VMManager(src).restore(saved) == spec.name and src.state(spec.name) == "active"
