"""VM operations: the database (source of truth) on one side, ``xenvm`` on the containers on the other.

Order for anything that touches both: read the rows, act on libvirt, and only when that succeeded
write the rows, so a failing container leaves the database unchanged.  ``xenvm`` errors become
``VMFailure`` here, in ``_translated``, and nowhere else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ksserver.errors import InvalidArgument, VMFailure
from ksserver.inventory import hosts, partitions, vms
from ksserver.inventory.vms import VmRequest
from ksserver.services import Cluster
from ksserver.services.bootfiles import BootFileChanges, server_url

__all__ = ["VmRequest", "VmRow", "add_vm", "create_vm", "start_vm", "vm_power", "save_vm", "restore_vm",
           "move_vm", "list_vms", "set_vm", "dump_vms", "vm_config", "remove_vm", "container_connection"]


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


@dataclass
class Removal:
    deleted: list[str] = field(default_factory=list)   # files deleted on the container (purge)
    notes: list[str] = field(default_factory=list)     # what could not be cleaned up (force)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    from xenvm.errors import VMError

    try:
        yield
    except VMError as exc:
        raise VMFailure(str(exc)) from exc


class _Containers:
    """libvirt connections to the containers one call touches, closed at its end."""

    def __init__(self, cluster: Cluster):
        from xenvm.hypervisor import LibvirtHypervisor

        self._owns = cluster.hypervisor_factory is None  # an injected factory owns its connections
        self._factory = cluster.hypervisor_factory or (lambda uri, label: LibvirtHypervisor(uri, label=label))
        self._open: dict[str, Any] = {}

    def manager(self, session: Any, container: Any) -> Any:
        from xenvm.manager import VMManager

        return VMManager(self.hypervisor(vms.libvirt_uri(vms.container_attrs(session, container)), container.name))

    def hypervisor(self, uri: str, label: str) -> Any:
        if uri not in self._open:
            with _translated():
                self._open[uri] = self._factory(uri, label)
        return self._open[uri]

    def __enter__(self) -> _Containers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owns:
            for hv in self._open.values():
                hv.close()
        self._open.clear()


@contextlib.contextmanager
def container_connection(cluster: Cluster, uri: str, label: str) -> Iterator[Any]:
    """A ``LibvirtHypervisor`` for one container URI (consoles), closed afterwards unless injected.
    xenvm errors inside the block become ``VMFailure``."""
    with _Containers(cluster) as containers, _translated():
        yield containers.hypervisor(uri, label)


def _spec(cluster: Cluster, session: Any, vm: Any) -> Any:
    return vms.vm_spec(session, vm, server_url(cluster.settings, session, vm.host))


# -- database only -----------------------------------------------------------------------------

def add_vm(cluster: Cluster, req: VmRequest) -> tuple[str, int, str]:
    """(container, slice, VM name) of the new VM row; nothing is defined on the container yet."""
    with cluster.db.session(write=True) as session:
        vm = vms.add_host_vm(session, req)
        return vm.phys_host.name, vm.slice, vm.host.name


def set_vm(cluster: Cluster, name: str, **fields: str | None) -> None:
    if not any(v is not None for v in fields.values()):
        raise InvalidArgument("nothing to set; give mem=, physnode=, slice=, virt-type=, disk= or disksize=")
    with cluster.db.session(write=True) as session:
        vms.set_vm(session, vms.get_vm(session, name), **fields)


def dump_vms(cluster: Cluster, names: list[str]) -> list[str]:
    with cluster.db.session() as session:
        lines = []
        for vm in vms.list_vms(session, names):
            disks = " ".join(vms.disk_spec(d) for d in vm.disks)
            sizes = " ".join(str(d.size) for d in vm.disks)
            lines.append(f"rocks set host vm {vm.host.name} physnode='{vm.phys_host.name}' disk='{disks}' "
                         f"disksize='{sizes}' mem='{vm.mem}' slice='{vm.slice}' virt-type='{vm.virt_type}'")
        return lines


def vm_config(cluster: Cluster, name: str) -> str:
    from xenvm.domain import domain_xml

    with cluster.db.session() as session, _translated():
        return domain_xml(_spec(cluster, session, vms.get_vm(session, name)))


# -- database + libvirt ------------------------------------------------------------------------

def list_vms(cluster: Cluster, names: list[str], live: bool = True) -> list[VmRow]:
    from xenvm.errors import VMError

    rows = []
    with cluster.db.session() as session, _Containers(cluster) as containers:
        for vm in vms.list_vms(session, names):
            status = "-"
            if live:
                try:
                    status = containers.manager(session, vm.phys_host).status(vm.host.name)
                except (VMError, VMFailure):
                    status = "unreachable"
            macs = tuple(i.mac for i in sorted(vm.host.interfaces, key=lambda i: i.device) if i.mac)
            rows.append(VmRow(vm.host.name, vm.slice, vm.mem, vm.host.cpus, macs, vm.phys_host.name,
                              vm.virt_type, tuple(vms.disk_spec(d) for d in vm.disks),
                              tuple(d.size for d in vm.disks), status))
    return rows


def create_vm(cluster: Cluster, name: str) -> str:
    """Install: boot action install, define and start the domain (it PXE-boots from this server)."""
    from ksserver.inventory import boot

    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session, _Containers(cluster) as containers, _translated():
        vm = vms.get_vm(session, name)
        files.track(session, vm.host)
        boot.set_boot(session, vm.host, "install")
        files.settle(session, vm.host, reissue=True)  # a fresh install token for this install
        # libvirt last inside the transaction: if it refuses, the boot change rolls back with it.
        state = containers.manager(session, vm.phys_host).create(_spec(cluster, session, vm))
    files.apply(cluster.settings.tftp_dir)
    return str(state)


def start_vm(cluster: Cluster, name: str) -> str:
    with cluster.db.session() as session, _Containers(cluster) as containers, _translated():
        vm = vms.get_vm(session, name)
        return str(containers.manager(session, vm.phys_host).start(_spec(cluster, session, vm)))


def vm_power(cluster: Cluster, name: str, action: str) -> str:
    """stop | pause | resume | status on the VM's container."""
    if action not in ("stop", "pause", "resume", "status"):
        raise InvalidArgument(f"unknown VM action {action!r}")
    with cluster.db.session() as session, _Containers(cluster) as containers, _translated():
        vm = vms.get_vm(session, name)
        return str(getattr(containers.manager(session, vm.phys_host), action)(vm.host.name))


def save_vm(cluster: Cluster, name: str, path: str | None = None) -> str:
    with cluster.db.session() as session, _Containers(cluster) as containers, _translated():
        vm = vms.get_vm(session, name)
        return str(containers.manager(session, vm.phys_host).save(vm.host.name, path))


def restore_vm(cluster: Cluster, name: str, path: str | None = None) -> str:
    with cluster.db.session() as session, _Containers(cluster) as containers, _translated():
        vm = vms.get_vm(session, name)
        manager = containers.manager(session, vm.phys_host)
        target = path or _spec(cluster, session, vm).saved_path()
        if target is None:
            raise InvalidArgument(f"VM {name} has no file disk to keep its saved state beside; give file=")
        manager.restore(target)
        return str(manager.status(vm.host.name))


def move_vm(cluster: Cluster, name: str, new_container: str) -> str:
    with cluster.db.session() as session, _Containers(cluster) as containers, _translated():
        vm = vms.get_vm(session, name)
        dst_host = hosts.get_host(session, new_container)
        if dst_host.id == vm.phys_host_id:
            raise InvalidArgument(f"VM {name} already lives on {new_container}")
        kind = vms.hypervisor_kind(vms.container_attrs(session, dst_host))
        part = partitions.largest_data_partition(session, dst_host)
        if part is None:
            raise InvalidArgument(f"could not find a partition on host {new_container} to hold the VM's disk image")
        dst_dir = f"{part.mountpoint.rstrip('/')}/{kind}/disks"
        spec = _spec(cluster, session, vm)
        src = containers.manager(session, vm.phys_host)
        dst = containers.manager(session, dst_host).hv
        result = src.move(spec, dst, dst_dir)
    with cluster.db.session(write=True) as session:
        vm = vms.get_vm(session, name)
        vms.move_vm_rows(session, vm, hosts.get_host(session, new_container),
                         {d.name: d.prefix for d in result.spec.file_disks})
    return str(result.state)


def remove_vm(cluster: Cluster, name: str, purge: bool = False, force: bool = False) -> Removal:
    """Undefine the (stopped) domain, delete images only with purge, then forget the rows.

    With ``force`` a container that cannot be reached or refuses does not stop the removal: the rows
    go, and the returned notes say what was left behind on the container."""
    from xenvm.errors import VMError

    result = Removal()
    files = BootFileChanges(cluster.settings)
    with cluster.db.session() as session, _Containers(cluster) as containers:
        vm = vms.get_vm(session, name)
        container = vm.phys_host.name
        try:
            with _translated():
                manager = containers.manager(session, vm.phys_host)
                if manager.status(name) != "undefined":
                    result.deleted = list(manager.remove(name, purge=purge))
        except (VMFailure, VMError) as exc:
            if not force:
                raise VMFailure(f"{exc} (to forget the VM anyway: force=yes)") from exc
            result.notes.append(f"{name}: not cleaned up on {container} ({exc}); its domain"
                                f"{' and disk images' if purge else ''} may still exist there")
    with cluster.db.session(write=True) as session:
        vm = vms.get_vm(session, name)
        files.track(session, vm.host)
        host_id = vm.host.id
        vms.remove_vm(session, vm)
        files.gone(host_id)
    files.apply(cluster.settings.tftp_dir)
    return result
