"""Integration: real libvirtd (QEMU driver, TCG, session mode as uid 65534) started by the fixtures.

Guests have a blank disk and a slirp NIC; with boot=network,hd they sit in SeaBIOS/iPXE, which
is all a lifecycle test needs. Two daemons act as two VM containers for the move tests.
"""

from __future__ import annotations

import dataclasses
import os
import stat

import pytest

from xenvm import DiskSpec, MoveError, NicSpec, VMManager, VMSpec, storage
from xenvm.errors import HypervisorUnavailable, StorageError
from xenvm.hypervisor import LibvirtHypervisor
from xenvm.storage import download_bytes, upload_bytes, volume_digest

pytestmark = [pytest.mark.libvirtd, pytest.mark.timeout(120)]

MARK = os.urandom(64 * 1024)  # known bytes written into the disk before moving it
MARK_AT = 3 * 1024 * 1024 + 17  # not block aligned, after a hole


def _spec(daemon, name: str = "compute-0-0-0", memory_mb: int = 64) -> VMSpec:
    return VMSpec(
        name,
        memory_mb=memory_mb,
        vcpus=1,
        domain_type="qemu",
        machine="pc",
        disks=[DiskSpec(f"{name}.vda", daemon.path("disks"), size_gb=1)],
        nics=[NicSpec("52:54:00:12:34:56", kind="user")],
    )


def _hv(daemon, label: str) -> LibvirtHypervisor:
    return LibvirtHypervisor(daemon.uri, label=label)


def _seeded(hv: LibvirtHypervisor, spec: VMSpec) -> str:
    """Create the VM's storage, write MARK into the disk, then create+start the VM; returns the digest."""
    mgr = VMManager(hv)
    mgr.ensure_storage(spec)
    pool = hv.pool_for_path(spec.disks[0].prefix)
    upload_bytes(hv, pool, spec.disks[0].name, MARK, offset=MARK_AT)
    assert mgr.create(spec) == "active"
    return volume_digest(hv, pool, spec.disks[0].name)


def _disk_bytes(hv: LibvirtHypervisor, spec: VMSpec) -> bytes:
    pool = hv.pool_for_path(spec.disks[0].prefix)
    return download_bytes(hv, pool, spec.disks[0].name, offset=MARK_AT, length=len(MARK))


def test_lifecycle_on_real_libvirtd(libvirtd):
    hv = _hv(libvirtd, "vm-container-0-0")
    mgr = VMManager(hv)
    spec = _spec(libvirtd)
    assert mgr.create(spec) == "active"
    assert hv.conn.lookupByName(spec.name).isPersistent()
    assert os.path.exists(spec.disks[0].path)
    assert hv.vnc_port(spec.name) is not None
    assert mgr.pause(spec.name) == "paused"
    assert mgr.resume(spec.name) == "active"
    saved = mgr.save(spec.name)
    assert (
        saved == os.path.join(libvirtd.path("disks"), "compute-0-0-0.saved")
        and mgr.status(spec.name) == "shutoff"
    )
    pool = hv.pool_for_path(libvirtd.path("disks"))
    assert hv.volume_exists(pool, "compute-0-0-0.saved")  # inside the pool, so it can be streamed
    assert mgr.restore(saved) == spec.name and mgr.status(spec.name) == "active"
    assert mgr.stop(spec.name) == "shutoff"
    more = dataclasses.replace(spec, memory_mb=96)  # rocks set host vm mem=96, then start
    assert mgr.drift(more)
    assert mgr.start(more) == "active"
    assert mgr.drift(more) == []
    assert hv.conn.lookupByName(spec.name).maxMemory() == 96 * 1024
    mgr.stop(spec.name)
    assert mgr.remove(spec.name, purge=True) == [spec.disks[0].path, saved]
    assert mgr.status(spec.name) == "undefined" and not os.path.exists(spec.disks[0].path)


def test_move_between_two_containers(libvirtd_factory):
    a, b = libvirtd_factory(), libvirtd_factory()
    src, dst = _hv(a, "vm-container-0-0"), _hv(b, "vm-container-0-1")
    spec = _spec(a)
    digest = _seeded(src, spec)
    uuid = src.uuid(spec.name)
    result = VMManager(src).move(spec, dst, b.path("disks"))
    assert result.state == "active" and dst.state(spec.name) == "active" and result.leftovers == ()
    assert result.spec.disks[0].prefix == b.path("disks") and result.spec.uuid == uuid
    assert (result.source, result.destination) == ("vm-container-0-0", "vm-container-0-1")
    assert [c.sparse for c in result.copies] == [True, True]
    # same bytes on the destination, and the running domain uses the destination's disk
    assert volume_digest(dst, dst.pool_for_path(b.path("disks")), spec.disks[0].name) == digest
    assert _disk_bytes(dst, result.spec) == MARK
    assert b.path("disks", spec.disks[0].name) in dst.live_xml(spec.name)
    # gone from the source: domain, disk and saved state; no saved state left on the destination
    assert src.state(spec.name) == "undefined"
    assert os.listdir(a.path("disks")) == [] and os.listdir(b.path("disks")) == [spec.disks[0].name]
    # and back, cold this time
    VMManager(dst).stop(spec.name)
    back = VMManager(dst).move(result.spec, src, a.path("disks"))
    assert back.state == "shutoff" and dst.state(spec.name) == "undefined"
    assert VMManager(src).start(back.spec) == "active" and _disk_bytes(src, back.spec) == MARK


def test_move_to_unwritable_directory_keeps_vm_on_source(libvirtd_factory):
    a, b = libvirtd_factory(), libvirtd_factory()
    src, dst = _hv(a, "vm-container-0-0"), _hv(b, "vm-container-0-1")
    spec = _spec(a)
    digest = _seeded(src, spec)
    locked = b.path("locked")
    os.mkdir(locked)
    os.chmod(locked, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    with pytest.raises(StorageError) as info:  # found by the preflight probe: the VM never stopped
        VMManager(src).move(spec, dst, locked)
    assert "on container vm-container-0-1" in str(info.value) and "Permission denied" in str(info.value)
    assert src.state(spec.name) == "active" and dst.state(spec.name) == "undefined"
    assert volume_digest(src, src.pool_for_path(a.path("disks")), spec.disks[0].name) == digest
    assert os.listdir(locked) == []


@pytest.mark.parametrize("kill_at", ["stream", "define"])
def test_move_with_destination_killed_midway_restores_source(libvirtd_factory, monkeypatch, kill_at):
    a, b = libvirtd_factory(), libvirtd_factory()
    src, dst = _hv(a, "vm-container-0-0"), _hv(b, "vm-container-0-1")
    spec = _spec(a)
    digest = _seeded(src, spec)
    if kill_at == "stream":  # the container's libvirt dies while the disk is being uploaded
        real_send = storage._send

        def send(stream, data):
            b.kill()
            return real_send(stream, data)

        monkeypatch.setattr(storage, "_send", send)
    else:  # ... or after the disks and saved state were copied

        def define(xml: str) -> str:
            b.kill()
            return LibvirtHypervisor.define(dst, xml)

        monkeypatch.setattr(dst, "define", define)
    with pytest.raises(MoveError) as info:
        VMManager(src).move(spec, dst, b.path("disks"))
    assert "lost contact with container vm-container-0-1" in str(info.value)
    assert "the VM was restored on vm-container-0-0" in str(info.value)
    assert info.value.saved_path is None
    assert src.state(spec.name) == "active"
    assert volume_digest(src, src.pool_for_path(a.path("disks")), spec.disks[0].name) == digest
    assert _disk_bytes(src, spec) == MARK
    assert os.listdir(a.path("disks")) == [spec.disks[0].name]  # saved state removed after the restore


def test_move_with_destination_killed_during_restore_leaves_vm_restorable(libvirtd_factory, monkeypatch):
    a, b = libvirtd_factory(), libvirtd_factory()
    src, dst = _hv(a, "vm-container-0-0"), _hv(b, "vm-container-0-1")
    spec = _spec(a)
    digest = _seeded(src, spec)

    def die(path: str, xml: str | None = None) -> str:
        b.kill()
        return LibvirtHypervisor.restore(dst, path, xml)

    monkeypatch.setattr(dst, "restore", die)
    with pytest.raises(MoveError) as info:
        VMManager(src).move(spec, dst, b.path("disks"))
    # Whether the destination started it is unknowable, so the source is left saved, not restored.
    saved = os.path.join(a.path("disks"), f"{spec.name}.saved")
    assert info.value.saved_path == saved and info.value.restorable_on == "vm-container-0-0"
    assert src.state(spec.name) == "shutoff" and os.path.exists(saved)
    assert volume_digest(src, src.pool_for_path(a.path("disks")), spec.disks[0].name) == digest
    assert VMManager(src).restore(saved) == spec.name and src.state(spec.name) == "active"
    with pytest.raises(HypervisorUnavailable):
        dst.list_domains()
