"""LibvirtHypervisor against libvirt's in-process test driver (no daemon) and error translation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from xenvm import (
    DiskSpec,
    DomainNotFound,
    HypervisorUnavailable,
    LibvirtHypervisor,
    NicSpec,
    VMSpec,
    domain_xml,
)
from xenvm.errors import StorageError, VMError
from xenvm.hypervisor import pool_name_for

libvirt = pytest.importorskip("libvirt", reason="libvirt-python not installed")


def _spec(name: str, prefix: str = "/var/tmp/xenvm-test") -> VMSpec:
    return VMSpec(
        name,
        memory_mb=64,
        domain_type="test",
        disks=[DiskSpec(f"{name}.vda", prefix, size_gb=1)],
        nics=[NicSpec("52:54:00:00:10:01", kind="user")],
    )


def test_domain_lifecycle_and_states(test_hv, tmp_path):
    name = "life"
    assert test_hv.state(name) == "undefined"
    assert test_hv.define(domain_xml(_spec(name))) == name
    assert test_hv.state(name) == "shutoff" and test_hv.list_domains() == [name]
    uuid.UUID(test_hv.uuid(name))
    test_hv.start(name)
    assert test_hv.state(name) == "active"
    test_hv.suspend(name)
    assert test_hv.state(name) == "paused"
    test_hv.resume(name)
    assert test_hv.state(name) == "active"
    saved = str(tmp_path / "life.saved")
    test_hv.save(name, saved)
    assert test_hv.state(name) == "shutoff" and os.path.exists(saved)
    assert "<name>life</name>" in test_hv.saved_image_xml(saved)
    assert test_hv.restore(saved) == name
    assert test_hv.state(name) == "active"
    test_hv.destroy(name)
    assert test_hv.state(name) == "shutoff"
    test_hv.undefine(name)
    assert test_hv.state(name) == "undefined"


def test_test_default_is_shared_per_process():
    # Documented caveat: two connections to test:///default see the same domains.
    a, b = LibvirtHypervisor("test:///default"), LibvirtHypervisor("test:///default")
    name = f"shared-{uuid.uuid4().hex[:8]}"
    try:
        a.define(domain_xml(_spec(name)))
        assert b.state(name) == "shutoff"
    finally:
        a.undefine(name)
        a.close()
        b.close()


@pytest.mark.parametrize(
    "method", ["start", "destroy", "suspend", "resume", "undefine", "defined_xml", "uuid"]
)
def test_unknown_domain(test_hv, method):
    with pytest.raises(DomainNotFound) as info:
        getattr(test_hv, method)("ghost")
    assert str(info.value) == "VM ghost is not defined on container test-container"
    assert (info.value.vm, info.value.container) == ("ghost", "test-container")


def test_unreachable_uri_fails_fast():
    hv = LibvirtHypervisor("qemu+unix:///session?socket=/nonexistent/libvirt-sock", label="vm-container-9-9")
    t0 = time.monotonic()
    with pytest.raises(HypervisorUnavailable) as info:
        hv.state("x")
    assert time.monotonic() - t0 < 5
    msg = str(info.value)
    assert msg.startswith(
        "cannot reach container libvirt at qemu+unix:///session?socket=/nonexistent/libvirt-sock:"
    )
    assert "\n" not in msg and info.value.container == "vm-container-9-9"


def test_other_libvirt_errors_are_translated(test_hv):
    with pytest.raises(VMError, match=r"cannot define VM broken on container test-container: .*") as info:
        test_hv.define("<domain type='test'><name>broken</name><memory>-1</memory></domain>")
    assert not isinstance(info.value, DomainNotFound)
    with pytest.raises(VMError, match="cannot restore"):
        test_hv.restore("/nonexistent/file.saved")


def test_storage_pools_and_volumes(test_hv, tmp_path):
    path = str(tmp_path / "disks")
    name = test_hv.ensure_dir_pool(None, path)
    assert name == pool_name_for(path) and name.startswith("xenvm-")
    assert test_hv.ensure_dir_pool("other-name", path + "/") == name  # found by path, idempotent
    assert test_hv.pool_for_path(path) == name and test_hv.pool_for_path("/nowhere") is None
    pool = test_hv.conn.storagePoolLookupByName(name)
    assert pool.isActive() and pool.autostart() and pool.isPersistent()
    vpath = test_hv.create_volume(name, "a.vda", 2)
    assert vpath.endswith("/a.vda") and test_hv.volume_path(name, "a.vda") == vpath
    assert test_hv.volume_exists(name, "a.vda") and not test_hv.volume_exists(name, "b.vda")
    assert test_hv.volume_info(name, "a.vda")[0] == 2 * 1024**3
    with pytest.raises(StorageError, match="cannot create volume a.vda in pool"):
        test_hv.create_volume(name, "a.vda", 1)
    test_hv.delete_volume(name, "a.vda")
    assert not test_hv.volume_exists(name, "a.vda")
    with pytest.raises(StorageError, match="find storage pool nope"):
        test_hv.create_volume("nope", "x", 1)


def test_reconnects_after_close(test_hv):
    test_hv.list_domains()
    test_hv.close()
    assert test_hv.list_domains() == []  # reopened lazily


def test_imports_without_libvirt():
    code = (
        "import sys; sys.modules['libvirt'] = None\n"
        "import xenvm, xenvm.manager, xenvm.storage, xenvm.move\n"
        "assert 'libvirt' not in sys.modules or sys.modules['libvirt'] is None\n"
        "hv = xenvm.LibvirtHypervisor('test:///default')\n"
        "try:\n    hv.list_domains()\nexcept xenvm.HypervisorUnavailable as e:\n    print('OK', e)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OK libvirt-python is not installed")
