"""VM lifecycle on one container, mirroring the Rocks ``* host vm`` commands.

The manager keeps no state of its own: libvirt holds the definitions (persistent, unlike Rocks'
transient ``createLinux`` domains, so ``virsh list --all`` shows VMs that are off) and the
caller's DB holds the specs. Operations are idempotent where that is unsurprising
(start of a running VM, stop of a stopped one) and raise ``InvalidState`` where it is not.
"""

from __future__ import annotations

import os
from dataclasses import replace

from lxml import etree

from .domain import domain_xml, drift
from .errors import DomainNotFound, InvalidState, StorageError
from .hypervisor import LibvirtHypervisor
from .move import MoveResult, move_vm
from .spec import VMSpec


class VMManager:
    """Lifecycle operations for VMs on the container behind ``hypervisor``."""

    def __init__(self, hypervisor: LibvirtHypervisor) -> None:
        self.hv = hypervisor

    # -- definition and storage ----------------------------------------------------------------

    def ensure_storage(self, spec: VMSpec) -> list[str]:
        """Create the pool(s) and any missing disk volume (sparse); returns the paths created.

        Existing volumes are kept as they are: a disk is never recreated or resized.
        """
        created = []
        for disk in spec.file_disks:
            pool = self.hv.ensure_dir_pool(None, disk.prefix)
            self.hv.refresh_pool(pool)  # see images copied in by hand since the pool started
            if not self.hv.volume_exists(pool, disk.name):
                if not disk.size_gb:
                    raise StorageError(
                        f"VM {spec.name}: disk {disk.path} does not exist on container "
                        f"{self.hv.label} and has no size to create it with",
                        vm=spec.name,
                        container=self.hv.label,
                    )
                created.append(self.hv.create_volume(pool, disk.name, disk.size_gb, disk.format))
        return created

    def define(self, spec: VMSpec) -> None:
        """Define (or redefine) the persistent domain, keeping the UUID libvirt already has."""
        if spec.uuid is None and self.hv.state(spec.name) != "undefined":
            spec = replace(spec, uuid=self.hv.uuid(spec.name))
        self.hv.define(domain_xml(spec))

    def drift(self, spec: VMSpec) -> list[str]:
        """How the defined domain differs from ``spec`` (memory, vcpus, disks, MACs, boot order)."""
        return drift(self.hv.defined_xml(spec.name), spec)

    # -- lifecycle ----------------------------------------------------------------------------

    def create(self, spec: VMSpec) -> str:
        """Pools + volumes + persistent definition + start (it PXE-boots with boot=network,hd)."""
        self.ensure_storage(spec)
        self.define(spec)
        return self._power_on(spec.name)

    def start(self, spec: VMSpec) -> str:
        """Start the VM, first redefining it if the definition drifted from ``spec``.

        An undefined VM is created (Rocks ``create host vm`` is an alias of ``start``).
        A running VM is left running; a redefinition then applies from its next boot.
        """
        if self.hv.state(spec.name) == "undefined":
            return self.create(spec)
        self.ensure_storage(spec)
        if self.drift(spec):
            self.define(spec)
        return self._power_on(spec.name)

    def _power_on(self, name: str) -> str:
        if self.hv.state(name) in ("shutoff", "crashed", "nostate"):
            if self.hv.state(name) == "crashed":  # on_crash=preserve keeps the corpse; clear it first
                self.hv.destroy(name)
            self.hv.start(name)
        return self.hv.state(name)

    def stop(self, name: str) -> str:
        """Hard power-off (Rocks ``stop host vm``); a stopped VM stays stopped."""
        if self._state(name) not in ("shutoff",):
            self.hv.destroy(name)
        return self.hv.state(name)

    def pause(self, name: str) -> str:
        self._require(name, "pause", ("active",))
        self.hv.suspend(name)
        return self.hv.state(name)

    def resume(self, name: str) -> str:
        self._require(name, "resume", ("paused",))
        self.hv.resume(name)
        return self.hv.state(name)

    def save(self, name: str, path: str | None = None) -> str:
        """Save RAM to ``path`` (default ``<first disk dir>/<vm>.saved``, inside its pool); returns it."""
        self._require(name, "save", ("active", "paused"))
        if path is None:
            path = self.default_saved_path(name)
        self.hv.save(name, path)
        return path

    def restore(self, path: str) -> str:
        """Restore a saved VM from ``path`` on this container; returns the VM name."""
        return self.hv.restore(path)

    def status(self, name: str) -> str:
        """active | paused | shutdown | shutoff | crashed | nostate | undefined."""
        return self.hv.state(name)

    def remove(self, name: str, purge: bool = False) -> list[str]:
        """Undefine a stopped VM; with ``purge`` also delete its disk volumes and saved state.

        Returns the deleted paths. Without ``purge`` no disk is ever deleted (Rocks behaviour).
        """
        self._require(name, "remove", ("shutoff", "crashed", "nostate"), hint="stop it first")
        paths = self._disk_paths(name) if purge else []
        self.hv.undefine(name)
        deleted = []
        for path in paths + sorted({os.path.join(os.path.dirname(p), f"{name}.saved") for p in paths}):
            pool = self.hv.ensure_dir_pool(None, os.path.dirname(path))
            self.hv.refresh_pool(pool)
            vol = os.path.basename(path)
            if self.hv.volume_exists(pool, vol):
                self.hv.delete_volume(pool, vol)
                deleted.append(path)
        return deleted

    def move(self, spec: VMSpec, dst: LibvirtHypervisor, dst_pool_path: str) -> MoveResult:
        """Move ``spec``'s VM from this container to ``dst`` (see :func:`xenvm.move.move_vm`)."""
        return move_vm(spec, self.hv, dst, dst_pool_path)

    # -- helpers ------------------------------------------------------------------------------

    def default_saved_path(self, name: str) -> str:
        paths = self._disk_paths(name)
        if not paths:
            raise InvalidState(
                f"VM {name} on container {self.hv.label} has no file disk; give a save path",
                vm=name,
                container=self.hv.label,
            )
        return os.path.join(os.path.dirname(paths[0]), f"{name}.saved")

    def _disk_paths(self, name: str) -> list[str]:
        root = etree.fromstring(self.hv.defined_xml(name).encode())
        return [
            s.get("file", "")
            for s in root.iterfind("devices/disk[@device='disk'][@type='file']/source")
            if s.get("file")
        ]

    def _state(self, name: str) -> str:
        state = self.hv.state(name)
        if state == "undefined":
            raise DomainNotFound(
                f"VM {name} is not defined on container {self.hv.label}", vm=name, container=self.hv.label
            )
        return state

    def _require(self, name: str, action: str, allowed: tuple[str, ...], hint: str = "") -> None:
        # Checked here, not left to libvirt: drivers disagree on error codes (the test driver
        # reports "internal error" where QEMU says "operation invalid").
        state = self._state(name)
        if state not in allowed:
            extra = f"; {hint}" if hint else ""
            raise InvalidState(
                f"cannot {action} VM {name} on container {self.hv.label}: it is {state}{extra}",
                vm=name,
                container=self.hv.label,
            )
