"""The libvirt adapter: one container's libvirt, reached by URI (xen://, qemu+ssh://HOST/system,
qemu+unix:///session?socket=..., test:///default ...).

``libvirt`` is imported only inside this module's functions, so ``import xenvm`` works on a
machine without libvirt-python; every ``libvirtError`` becomes a ``VMError`` in ``LibvirtHypervisor.error``.
Volume streaming lives in ``xenvm.storage``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from lxml import etree

from .errors import (
    DomainNotFound,
    HypervisorUnavailable,
    InvalidState,
    StorageError,
    VMError,
)

STATES = ("active", "paused", "shutdown", "shutoff", "crashed", "nostate", "undefined")
# virDomainState -> Rocks' status words (BLOCKED is running; PMSUSPENDED reads as paused).
_STATE_NAMES = {
    0: "nostate",
    1: "active",
    2: "active",
    3: "paused",
    4: "shutdown",
    5: "shutoff",
    6: "crashed",
    7: "paused",
}
# virErrorNumber values, by name so this module never needs libvirt at import time.
_NOT_FOUND = {"VIR_ERR_NO_DOMAIN"}
_NO_STORAGE = {"VIR_ERR_NO_STORAGE_POOL", "VIR_ERR_NO_STORAGE_VOL"}
_BAD_STATE = {"VIR_ERR_OPERATION_INVALID"}
_LINK = {"VIR_ERR_NO_CONNECT", "VIR_ERR_RPC", "VIR_ERR_AUTH_FAILED", "VIR_ERR_AUTH_UNAVAILABLE"}
_quiet = False


def _libvirt() -> Any:
    """Import libvirt on first use; silence its default stderr printer (we raise instead)."""
    global _quiet
    try:
        import libvirt
    except ImportError:  # pragma: no cover - depends on the machine
        raise HypervisorUnavailable(
            "libvirt-python is not installed (pip install 'ksserver[libvirt]')"
        ) from None
    if not _quiet:
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        _quiet = True
    return libvirt


def pool_name_for(path: str) -> str:
    """A stable pool name for a directory: /state/partition1/kvm/disks -> xenvm-state-partition1-kvm-disks."""
    slug = "-".join(p for p in os.path.normpath(path).split("/") if p) or "root"
    return f"xenvm-{slug}"[:100]


class LibvirtHypervisor:
    """One container's libvirt. Opens lazily and reopens once a dead link is noticed."""

    def __init__(self, uri: str, label: str | None = None) -> None:
        self.uri = uri
        self.label = label or uri
        self._conn: Any = None

    def __repr__(self) -> str:
        return f"LibvirtHypervisor({self.uri!r})"

    # -- connection and error translation ------------------------------------------------------

    @property
    def conn(self) -> Any:
        libvirt = _libvirt()
        if self._conn is not None:
            try:
                alive = self._conn.isAlive()
            except libvirt.libvirtError:
                alive = False
            if alive:
                return self._conn
            self.close()
        try:
            self._conn = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            raise HypervisorUnavailable(
                f"cannot reach container libvirt at {self.uri}: {exc}", container=self.label
            ) from None
        if self._conn is None:  # pragma: no cover - old bindings returned None on failure
            raise HypervisorUnavailable(f"cannot reach container libvirt at {self.uri}", container=self.label)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> LibvirtHypervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def translating(self, action: str, vm: str | None = None, storage: bool = False) -> Iterator[None]:
        """Turn libvirtError into the VMError tree: the one place libvirt errors are mapped.

        ``action`` reads "cannot <action> [VM <vm>] on container <label>: <libvirt's reason>".
        """
        libvirt = _libvirt()
        try:
            yield
        except libvirt.libvirtError as exc:
            raise self.error(exc, action, vm, storage) from None

    def error(self, exc: Any, action: str, vm: str | None = None, storage: bool = False) -> VMError:
        libvirt = _libvirt()
        code = exc.get_error_code()
        names = {n for n in dir(libvirt) if n.startswith("VIR_ERR_") and getattr(libvirt, n) == code}
        if vm:
            what = action % f"VM {vm}" if "%s" in action else f"{action} VM {vm}"
        else:
            what = action.replace(" %s", "")
        where = f"container {self.label}"
        reason = exc.get_error_message() or str(exc)
        kw: dict[str, Any] = {"vm": vm, "container": self.label}
        if names & _NOT_FOUND and vm:
            return DomainNotFound(f"VM {vm} is not defined on {where}", **kw)
        if names & _LINK or (self._conn is not None and not _alive(self._conn)):
            return HypervisorUnavailable(
                f"lost contact with {where} ({self.uri}); cannot {what}: {reason}", **kw
            )
        if names & _BAD_STATE:
            return InvalidState(f"cannot {what} on {where}: {reason}", **kw)
        if (
            storage
            or names & _NO_STORAGE
            or exc.get_error_domain() == getattr(libvirt, "VIR_FROM_STORAGE", -1)
        ):
            return StorageError(f"cannot {what} on {where}: {reason}", **kw)
        return VMError(f"cannot {what} on {where}: {reason}", **kw)

    def _dom(self, name: str) -> Any:
        with self.translating("look up", name):
            return self.conn.lookupByName(name)

    # -- domains ------------------------------------------------------------------------------

    def define(self, xml: str) -> str:
        """Define (or redefine) a persistent domain; returns its name."""
        name = etree.fromstring(xml.encode()).findtext("name") or "?"
        with self.translating("define", name):
            return str(self.conn.defineXML(xml).name())

    def defined_xml(self, name: str) -> str:
        """The persistent (inactive) definition, i.e. what the next start will use."""
        libvirt = _libvirt()
        dom = self._dom(name)
        with self.translating("read the definition of", name):
            return str(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))

    def live_xml(self, name: str) -> str:
        dom = self._dom(name)
        with self.translating("read the live XML of", name):
            return str(dom.XMLDesc(0))

    def uuid(self, name: str) -> str:
        dom = self._dom(name)
        with self.translating("read the uuid of", name):
            return str(dom.UUIDString())

    def start(self, name: str) -> None:
        dom = self._dom(name)
        with self.translating("start", name):
            dom.create()

    def destroy(self, name: str) -> None:
        """Pull the power cord (Rocks ``stop host vm``)."""
        dom = self._dom(name)
        with self.translating("stop", name):
            dom.destroy()

    def shutdown(self, name: str) -> None:
        """Ask the guest to power off (ACPI); returns at once."""
        dom = self._dom(name)
        with self.translating("shut down", name):
            dom.shutdown()

    def suspend(self, name: str) -> None:
        dom = self._dom(name)
        with self.translating("pause", name):
            dom.suspend()

    def resume(self, name: str) -> None:
        dom = self._dom(name)
        with self.translating("resume", name):
            dom.resume()

    def save(self, name: str, path: str) -> None:
        """Save RAM state to ``path`` on the container (the domain stops); refresh its pool if any."""
        dom = self._dom(name)
        with self.translating(f"save %s to {path}", name):
            dom.save(path)
        pool = self.pool_for_path(os.path.dirname(path))
        if pool:
            self.refresh_pool(pool)

    def restore(self, path: str, xml: str | None = None) -> str:
        """Restore a saved domain from ``path``; ``xml`` may rewrite e.g. disk paths. Returns the name."""
        with self.translating(f"restore from {path}"):
            if xml is None:
                self.conn.restore(path)
            else:
                self.conn.restoreFlags(path, xml, 0)
        name = etree.fromstring((xml or self.saved_image_xml(path)).encode()).findtext("name")
        return name or "?"

    def saved_image_xml(self, path: str) -> str:
        """The domain XML stored inside a save image (read on the container holding it)."""
        with self.translating(f"read saved image {path}"):
            return str(self.conn.saveImageGetXMLDesc(path, 0))

    def state(self, name: str) -> str:
        """One of STATES; 'undefined' when the container does not know the domain."""
        try:
            dom = self._dom(name)
        except DomainNotFound:
            return "undefined"
        with self.translating("read the state of", name):
            return _STATE_NAMES.get(int(dom.state()[0]), "nostate")

    def undefine(self, name: str) -> None:
        dom = self._dom(name)
        with self.translating("undefine", name):
            dom.undefine()

    def list_domains(self) -> list[str]:
        with self.translating("list domains"):
            return sorted(str(d.name()) for d in self.conn.listAllDomains(0))

    def vnc_port(self, name: str) -> int | None:
        """The VNC port of a running domain (for console tunnels), or None."""
        el = etree.fromstring(self.live_xml(name).encode()).find("devices/graphics[@type='vnc']")
        port = el.get("port") if el is not None else None
        return int(port) if port and port.isdigit() and int(port) > 0 else None

    # -- storage ------------------------------------------------------------------------------

    def _pool(self, pool: str) -> Any:
        with self.translating(f"find storage pool {pool}", storage=True):
            return self.conn.storagePoolLookupByName(pool)

    def pool_for_path(self, path: str) -> str | None:
        """Name of the pool whose target directory is ``path``, if any (pools are matched by path,
        since an admin may already have one there under another name)."""
        want = os.path.normpath(path)
        with self.translating("list storage pools", storage=True):
            for pool in self.conn.listAllStoragePools(0):
                target = etree.fromstring(pool.XMLDesc(0).encode()).findtext("target/path")
                if target and os.path.normpath(target) == want:
                    return str(pool.name())
        return None

    def ensure_dir_pool(self, name: str | None, path: str) -> str:
        """Make ``path`` a persistent, built, started, autostarted directory pool; returns its name.

        An existing pool on that directory is reused whatever its name (libvirt refuses two).
        """
        libvirt = _libvirt()
        existing = self.pool_for_path(path)
        name = existing or name or pool_name_for(path)
        action = f"prepare storage pool {name} ({path})"
        with self.translating(action, storage=True):
            if existing:
                pool = self.conn.storagePoolLookupByName(name)
            else:
                root = etree.Element("pool", type="dir")
                etree.SubElement(root, "name").text = name
                etree.SubElement(etree.SubElement(root, "target"), "path").text = os.path.normpath(path)
                pool = self.conn.storagePoolDefineXML(etree.tostring(root, encoding="unicode"), 0)
            try:
                if not pool.isActive():
                    pool.build(0)  # mkdir -p; harmless when the directory exists
                    pool.create(0)
                if not pool.autostart():
                    pool.setAutostart(1)
            except libvirt.libvirtError:
                if not existing:  # do not leave a half-made pool definition behind
                    with contextlib.suppress(libvirt.libvirtError):
                        pool.undefine()
                raise
        return str(name)

    def pool_available(self, pool: str) -> int:
        """Free bytes in a pool (as libvirt sees its filesystem)."""
        p = self._pool(pool)
        with self.translating(f"inspect storage pool {pool}", storage=True):
            return int(p.info()[3])

    def refresh_pool(self, pool: str) -> None:
        p = self._pool(pool)
        with self.translating(f"refresh storage pool {pool}", storage=True):
            p.refresh(0)

    def create_volume(self, pool: str, name: str, size_gb: float, fmt: str = "raw") -> str:
        """Create a sparse volume (allocation 0); returns its path on the container."""
        return self.create_volume_bytes(pool, name, int(size_gb * 1024**3), fmt)

    def create_volume_bytes(self, pool: str, name: str, capacity: int, fmt: str = "raw") -> str:
        p = self._pool(pool)
        root = etree.Element("volume")
        etree.SubElement(root, "name").text = name
        etree.SubElement(root, "capacity", unit="bytes").text = str(capacity)
        etree.SubElement(root, "allocation", unit="bytes").text = "0"
        etree.SubElement(etree.SubElement(root, "target"), "format", type=fmt)
        with self.translating(f"create volume {name} in pool {pool}", storage=True):
            return str(p.createXML(etree.tostring(root, encoding="unicode"), 0).path())

    def _vol(self, pool: str, name: str) -> Any:
        p = self._pool(pool)
        with self.translating(f"find volume {name} in pool {pool}", storage=True):
            return p.storageVolLookupByName(name)

    def volume_exists(self, pool: str, name: str) -> bool:
        libvirt = _libvirt()
        p = self._pool(pool)
        try:
            p.storageVolLookupByName(name)
            return True
        except libvirt.libvirtError as exc:
            err = self.error(exc, f"look up volume {name} in pool {pool}", storage=True)
            if isinstance(err, StorageError) and exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return False
            raise err from None

    def volume_path(self, pool: str, name: str) -> str:
        vol = self._vol(pool, name)
        with self.translating(f"read the path of volume {name}", storage=True):
            return str(vol.path())

    def volume_info(self, pool: str, name: str) -> tuple[int, int, str]:
        """(capacity bytes, allocation bytes, format) of a volume."""
        vol = self._vol(pool, name)
        with self.translating(f"inspect volume {name}", storage=True):
            _type, capacity, allocation = vol.info()
            fmt = etree.fromstring(vol.XMLDesc(0).encode()).find("target/format")
        return int(capacity), int(allocation), (fmt.get("type") if fmt is not None else None) or "raw"

    def delete_volume(self, pool: str, name: str) -> None:
        vol = self._vol(pool, name)
        with self.translating(f"delete volume {name} from pool {pool}", storage=True):
            vol.delete(0)

    def volume_handle(self, pool: str, name: str) -> Any:
        """The raw virStorageVol, for xenvm.storage streaming only."""
        return self._vol(pool, name)


def _alive(conn: Any) -> bool:
    try:
        return bool(conn.isAlive())
    except Exception:
        return False
