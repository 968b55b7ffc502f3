"""VM operations: the database (source of truth) on one side, ``xenvm`` on the containers on the other.

Order of work for anything that touches both: read the rows, act on libvirt, and only when that
succeeded write the rows, so a failing container leaves the database unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pathlib import Path

from sqlalchemy import select

from ksserver.db.models import Host, VmNode
from ksserver.db.session import Database
from ksserver.errors import InvalidArgument
from ksserver.inventory import boot, hosts, partitions, vms
from ksserver.pxe import remove_boot_files, write_boot_files
from xenvm.domain import domain_xml
from xenvm.errors import VMError
from xenvm.hypervisor import LibvirtHypervisor
from xenvm.manager import VMManager

HypervisorFactory = Callable[[str, str], LibvirtHypervisor]


def _default_factory(uri: str, label: str) -> LibvirtHypervisor:
    return LibvirtHypervisor(uri, label=label)


@dataclass(frozen=True)
class VmRow:
    name: str
    slice: int
    mem: int
    cpus: int
    macs: tuple[str, ...]
    container: str
    virt_type: str
    disks: tuple[str, ...]
    disksizes: tuple[int, ...]
    status: str


class VmOps:
    def __init__(self, db: Database, hypervisor_factory: HypervisorFactory | None = None,
                 tftp_dir: Path | None = None):
        self.db = db
        self.tftp_dir = tftp_dir
        # An injected factory owns its connections (tests keep one per URI across commands).
        self._owns = hypervisor_factory is None
        self.factory = hypervisor_factory or _default_factory
        self._open: dict[str, LibvirtHypervisor] = {}

    def close(self) -> None:
        if self._owns:
            for hv in self._open.values():
                hv.close()
        self._open.clear()

    def _manager(self, session, container: Host) -> VMManager:  # type: ignore[no-untyped-def]
        uri = vms.libvirt_uri(vms.container_attrs(session, container))
        if uri not in self._open:
            self._open[uri] = self.factory(uri, container.name)
        return VMManager(self._open[uri])

    # -- database only -------------------------------------------------------------------------

    def add(self, req: vms.VmRequest) -> tuple[str, int, str]:
        with self.db.session(write=True) as session:
            vm = vms.add_host_vm(session, req)
            return vm.phys_host.name, vm.slice, vm.host.name

    def set(self, name: str, **fields: str | None) -> None:
        with self.db.session(write=True) as session:
            vms.set_vm(session, vms.get_vm(session, name), **fields)

    def dump(self, names: list[str]) -> list[str]:
        with self.db.session() as session:
            lines = []
            for vm in vms.list_vms(session, names):
                disks = " ".join(vms.disk_spec(d) for d in vm.disks)
                sizes = " ".join(str(d.size) for d in vm.disks)
                lines.append(f"rocks set host vm {vm.host.name} physnode='{vm.phys_host.name}' disk='{disks}' "
                             f"disksize='{sizes}' mem='{vm.mem}' slice='{vm.slice}' virt-type='{vm.virt_type}'")
            return lines

    def config(self, name: str) -> str:
        with self.db.session() as session:
            return domain_xml(vms.vm_spec(session, vms.get_vm(session, name)))

    # -- database + libvirt --------------------------------------------------------------------

    def list(self, names: list[str], live: bool = True) -> list[VmRow]:
        with self.db.session() as session:
            rows = []
            for vm in vms.list_vms(session, names):
                status = "-"
                if live:
                    try:
                        status = self._manager(session, vm.phys_host).status(vm.host.name)
                    except VMError:
                        status = "unreachable"
                rows.append(VmRow(vm.host.name, vm.slice, vm.mem, vm.host.cpus,
                                  tuple(i.mac for i in sorted(vm.host.interfaces, key=lambda i: i.device) if i.mac),
                                  vm.phys_host.name, vm.virt_type, tuple(vms.disk_spec(d) for d in vm.disks),
                                  tuple(d.size for d in vm.disks), status))
            return rows

    def create(self, name: str) -> str:
        """Install: boot action install, define and start the domain (it PXE-boots from us)."""
        with self.db.session(write=True) as session:
            vm = vms.get_vm(session, name)
            entry = boot.set_boot(session, vm.host, "install")
            state = self._manager(session, vm.phys_host).create(vms.vm_spec(session, vm))
        if self.tftp_dir is not None:
            write_boot_files(self.tftp_dir, entry)
        return state

    def start(self, name: str) -> str:
        with self.db.session() as session:
            vm = vms.get_vm(session, name)
            return self._manager(session, vm.phys_host).start(vms.vm_spec(session, vm))

    def simple(self, name: str, action: str) -> str:
        """stop | pause | resume | status on the VM's container."""
        with self.db.session() as session:
            vm = vms.get_vm(session, name)
            manager = self._manager(session, vm.phys_host)
            return getattr(manager, action)(vm.host.name)

    def save(self, name: str, path: str | None = None) -> str:
        with self.db.session() as session:
            vm = vms.get_vm(session, name)
            return self._manager(session, vm.phys_host).save(vm.host.name, path)

    def restore(self, name: str, path: str | None = None) -> str:
        with self.db.session() as session:
            vm = vms.get_vm(session, name)
            manager = self._manager(session, vm.phys_host)
            spec = vms.vm_spec(session, vm)
            target = path or spec.saved_path()
            if target is None:
                raise InvalidArgument(f"VM {name} has no file disk to keep its saved state beside; give file=")
            manager.restore(target)
            return manager.status(vm.host.name)

    def move(self, name: str, new_container: str) -> str:
        with self.db.session() as session:
            vm = vms.get_vm(session, name)
            dst_host = hosts.get_host(session, new_container)
            if dst_host.id == vm.phys_host_id:
                raise InvalidArgument(f"VM {name} already lives on {new_container}")
            kind = vms.hypervisor_kind(vms.container_attrs(session, dst_host))
            part = partitions.largest_data_partition(session, dst_host)
            if part is None:
                raise InvalidArgument(f"could not find a partition on host {new_container} to hold the VM's disk "
                                      f"image")
            dst_dir = f"{part.mountpoint.rstrip('/')}/{kind}/disks"
            spec = vms.vm_spec(session, vm)
            src = self._manager(session, vm.phys_host)
            dst = self._manager(session, dst_host).hv
        result = src.move(spec, dst, dst_dir)
        with self.db.session(write=True) as session:
            vm = vms.get_vm(session, name)
            vms.move_vm_rows(session, vm, hosts.get_host(session, new_container),
                             {d.name: d.prefix for d in result.spec.file_disks})
        return result.state

    def remove(self, name: str, purge: bool = False) -> list[str]:
        """Undefine the domain (it must be stopped), delete images only with purge, then forget the rows."""
        with self.db.session() as session:
            vm = vms.get_vm(session, name)
            manager = self._manager(session, vm.phys_host)
            entry = boot.current_entry(session, vm.host)
        deleted: list[str] = []
        if manager.status(name) != "undefined":
            deleted = manager.remove(name, purge=purge)
        with self.db.session(write=True) as session:
            vms.remove_vm(session, vms.get_vm(session, name))
        if entry is not None and self.tftp_dir is not None:
            remove_boot_files(self.tftp_dir, entry)
        return deleted


def is_vm(db: Database, name: str) -> bool:
    with db.session() as session:
        host = hosts.get_host(session, name)
        return session.scalar(select(VmNode.id).where(VmNode.host_id == host.id)) is not None
