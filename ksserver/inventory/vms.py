"""VM rows: allocation of name, slice, MACs, IP and disk placement (Rocks §3.2, §3.3), and the
translation of those rows into an ``xenvm.spec.VMSpec`` for the VM manager."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ksserver.db.models import Boot, Host, Interface, VmDisk, VmNode
from ksserver.db.session import allocation_lock
from ksserver.errors import AlreadyExists, InvalidArgument, NotFound
from ksserver.inventory import appliances, attributes, context, interfaces, partitions, validate
from ksserver.inventory.hosts import HostRequest, add_host, get_host
from ksserver.values import is_true
from xenvm.mac import next_mac
from xenvm.spec import DiskSpec, NicSpec, VMSpec

DEFAULT_MEM = 1024
DEFAULT_DISKSIZE = 36


@dataclass(frozen=True)
class VmRequest:
    container: str
    membership: str
    name: str | None = None
    ip: str | None = None
    mac: str | None = None
    mem: int = DEFAULT_MEM
    cpus: int = 1
    slice: int | None = None
    disk: str | None = None
    disksize: int = DEFAULT_DISKSIZE
    num_macs: int = 1
    virt_type: str | None = None
    subnet: str = "private"


def container_attrs(session: Session, container: Host) -> dict[str, str]:
    return context.host_attrs(session, container)


def hypervisor_kind(attrs: dict[str, str]) -> str:
    if is_true(attrs.get("xen")):
        return "xen"
    if is_true(attrs.get("kvm")):
        return "kvm"
    raise InvalidArgument(f"host {attrs.get('hostname')} is not a VM container (set its kvm or xen attribute)")


def libvirt_uri(attrs: dict[str, str]) -> str:
    """The container's libvirt URI: host attribute libvirt_uri, else the default for its hypervisor."""
    if attrs.get("libvirt_uri"):
        return attrs["libvirt_uri"]
    host = attrs["hostname"]
    return f"xen+ssh://{host}/" if hypervisor_kind(attrs) == "xen" else f"qemu+ssh://{host}/system"


def parse_disk_spec(spec: str) -> tuple[str, str, str, str, str]:
    """``vbd:path,device,mode`` (Rocks' spec string) -> (vbd_type, prefix, name, device, mode)."""
    try:
        vbd, rest = spec.split(":", 1)
        path, device, mode = rest.split(",")
    except ValueError:
        raise InvalidArgument(f"bad disk spec {spec!r}: expected TYPE:PATH,DEVICE,MODE "
                              f"like file:/state/partition1/kvm/disks/vm.vda,vda,virtio") from None
    if vbd not in ("file", "tap:aio", "phy", "qcow2", "qed") and not spec.startswith("tap:aio:"):
        raise InvalidArgument(f"bad disk type {vbd!r} in {spec!r}")
    if vbd == "phy":
        return vbd, "", path, device, mode
    if not path.startswith("/") or ".." in path.split("/"):
        raise InvalidArgument(f"disk path {path!r} must be absolute")
    return vbd, posixpath.dirname(path), posixpath.basename(path), device, mode


def default_disk(session: Session, container: Host, vm_name: str, kind: str) -> str:
    part = partitions.largest_data_partition(session, container)
    if part is None:
        raise InvalidArgument(f"could not find a partition on host {container.name} to hold the VM's disk image "
                              f"(record one with: rocks add host partition {container.name} device= mountpoint= "
                              f"size=)")
    base = part.mountpoint.rstrip("/")
    if kind == "xen":
        return f"file:{base}/xen/disks/{vm_name}.hda,hda,w"
    return f"file:{base}/kvm/disks/{vm_name}.vda,vda,virtio"


def _next_slice(session: Session, container: Host) -> int:
    current = session.scalar(select(func.max(VmNode.slice)).where(VmNode.phys_host_id == container.id))
    return 0 if current is None else current + 1


def add_host_vm(session: Session, req: VmRequest) -> VmNode:
    container = get_host(session, req.container)
    attrs = container_attrs(session, container)
    kind = hypervisor_kind(attrs)
    virt_type = req.virt_type or ("para" if kind == "xen" else "hvm")
    if virt_type not in ("para", "hvm") or (kind == "kvm" and virt_type != "hvm"):
        raise InvalidArgument(f"virt-type {virt_type!r} is not possible on a {kind} container")
    membership = appliances.find_membership(session, req.membership)
    allocation_lock(session, f"vm:{container.id}")
    allocation_lock(session, "vm-mac")
    slice_ = req.slice if req.slice is not None else _next_slice(session, container)
    if session.scalar(select(VmNode.id).where(VmNode.phys_host_id == container.id, VmNode.slice == slice_)):
        raise AlreadyExists(f"slice {slice_} of {container.name} is taken")
    name = req.name
    if name is None:
        while True:
            name = f"{membership.appliance.name}-{container.rack}-{container.rank}-{slice_}"
            if session.scalar(select(Host.id).where(Host.name == name)) is None:
                break
            if req.slice is not None:
                raise AlreadyExists(f"host {name} already exists")
            slice_ += 1
    macs = _allocate_macs(session, attrs, req)
    host = add_host(session, HostRequest(name=name, membership=membership.name, rack=container.rack,
                                         rank=container.rank, cpus=req.cpus, os=container.os, arch=container.arch))
    interfaces.add_interface(session, host, "eth0", mac=macs[0], ip=req.ip or "auto", subnet=req.subnet)
    for n, mac in enumerate(macs[1:], start=1):
        interfaces.add_interface(session, host, f"eth{n}", mac=mac, ip=None, subnet=None)
    vm = VmNode(host_id=host.id, phys_host_id=container.id, mem=validate.integer("mem", req.mem, 64),
                slice=slice_, virt_type=virt_type)
    session.add(vm)
    session.flush()
    spec = req.disk or default_disk(session, container, name, kind)
    _set_disks(session, vm, [spec], [req.disksize])
    session.add(Boot(host_id=host.id, action="install"))
    session.flush()
    return vm


def _allocate_macs(session: Session, attrs: dict[str, str], req: VmRequest) -> list[str]:
    base = attrs.get("vm_mac_base_addr", "00:16:3e:00:00:00")
    mask = attrs.get("vm_mac_base_addr_mask", "ff:ff:ff:00:00:00")
    existing = [m for m in session.scalars(select(Interface.mac).where(Interface.mac.is_not(None)))]
    macs: list[str] = []
    if req.mac:
        macs.append(validate.mac(req.mac))
    while len(macs) < validate.integer("num-macs", req.num_macs, 1, 16):
        mac = next_mac(existing + macs, base, mask)
        macs.append(mac)
    return macs


def _set_disks(session: Session, vm: VmNode, specs: list[str], sizes: list[int]) -> None:
    for row in list(vm.disks):
        session.delete(row)
    session.flush()
    for n, spec in enumerate(specs):
        vbd, prefix, name, device, mode = parse_disk_spec(spec)
        size = sizes[n] if n < len(sizes) else DEFAULT_DISKSIZE
        session.add(VmDisk(vm_node_id=vm.id, vbd_type=vbd, prefix=prefix, name=name, device=device, mode=mode,
                           size=validate.integer("disksize", size, 1)))
    session.flush()
    session.refresh(vm)


def get_vm(session: Session, name: str) -> VmNode:
    host = get_host(session, name)
    vm = session.scalar(select(VmNode).where(VmNode.host_id == host.id))
    if vm is None:
        raise NotFound(f"host {name} is not a VM")
    return vm


def list_vms(session: Session, names: list[str]) -> list[VmNode]:
    """VMs by name; a container name selects all its VMs; nothing selects every VM."""
    if not names:
        return list(session.scalars(select(VmNode).order_by(VmNode.phys_host_id, VmNode.slice)))
    result: list[VmNode] = []
    for name in names:
        host = get_host(session, name)
        vm = session.scalar(select(VmNode).where(VmNode.host_id == host.id))
        if vm is not None:
            result.append(vm)
            continue
        housed = list(session.scalars(select(VmNode).where(VmNode.phys_host_id == host.id).order_by(VmNode.slice)))
        if not housed:
            raise NotFound(f"host {name} is neither a VM nor a container with VMs")
        result.extend(housed)
    return result


def set_vm(session: Session, vm: VmNode, *, mem: str | None = None, physnode: str | None = None,
           slice_: str | None = None, virt_type: str | None = None, disk: str | None = None,
           disksize: str | None = None) -> None:
    if mem is not None:
        vm.mem = validate.integer("mem", mem, 64)
    if physnode is not None:
        container = get_host(session, physnode)
        hypervisor_kind(container_attrs(session, container))
        vm.phys_host_id = container.id
        vm.phys_host = container
    if slice_ is not None:
        vm.slice = validate.integer("slice", slice_)
    if virt_type is not None:
        if virt_type not in ("para", "hvm"):
            raise InvalidArgument(f"virt-type must be para or hvm, not {virt_type!r}")
        vm.virt_type = virt_type
    if disk is not None or disksize is not None:
        specs = disk.split() if disk is not None else [disk_spec(d) for d in vm.disks]
        sizes_src = disksize.split() if disksize is not None else [str(d.size) for d in vm.disks]
        sizes = [validate.integer("disksize", s, 1) for s in sizes_src]
        _set_disks(session, vm, specs, sizes)
    session.flush()


def disk_spec(disk: VmDisk) -> str:
    path = posixpath.join(disk.prefix, disk.name) if disk.prefix else disk.name
    return f"{disk.vbd_type}:{path},{disk.device},{disk.mode}"


def move_vm_rows(session: Session, vm: VmNode, new_container: Host, new_prefixes: dict[str, str]) -> None:
    """After a successful move: the VM now lives on ``new_container`` with disks under new prefixes."""
    vm.phys_host_id = new_container.id
    vm.phys_host = new_container
    for disk in vm.disks:
        if disk.name in new_prefixes:
            disk.prefix = new_prefixes[disk.name]
    session.flush()


def remove_vm(session: Session, vm: VmNode) -> None:
    """Forget the VM (its host, interfaces and VM rows); disk images are the VM manager's business."""
    host = vm.host
    session.delete(vm)
    session.flush()
    session.delete(host)
    session.flush()


def vm_spec(session: Session, vm: VmNode, server_url: str | None = None) -> VMSpec:
    """The plain description the VM manager needs (xenvm never reads the database).

    ``server_url``: where the VM's installer reaches this server; a user-mode NIC on QEMU/KVM gets
    ``<server_url>/install/ipxe?mac=<mac>`` as its DHCP boot file, so it PXE-boots from us."""
    attrs = container_attrs(session, vm.phys_host)
    kind = hypervisor_kind(attrs)
    domain_type = attrs.get("libvirt_domain_type") or kind
    nic_kind = attrs.get("vm_nic_kind", "bridge")
    container_ifaces = {i.subnet_id: i.device for i in vm.phys_host.interfaces if i.subnet_id}
    nics = []
    for iface in sorted(vm.host.interfaces, key=lambda i: i.device):
        if not iface.mac:
            continue
        bridge = None
        if nic_kind == "bridge":
            dev = container_ifaces.get(iface.subnet_id) or attrs.get("Kickstart_PrivateInterface", "eth0")
            bridge = f"xenbr.{dev}" if kind == "xen" else dev
        elif nic_kind == "network":
            bridge = attrs.get("vm_network", "default")
        bootfile = None
        if nic_kind == "user" and domain_type in ("qemu", "kvm") and server_url:
            bootfile = f"{server_url}/install/ipxe?mac={iface.mac}"
        nics.append(NicSpec(mac=iface.mac, bridge=bridge, kind=nic_kind,
                            model=None if kind == "xen" else "virtio", bootfile=bootfile))
    disks = tuple(DiskSpec.from_rocks(d.vbd_type, d.prefix, d.name, d.device, d.mode, d.size, domain_type)
                  for d in vm.disks)
    host_attrs = attributes.host_own_attrs(session, vm.host)
    return VMSpec(name=vm.host.name, memory_mb=vm.mem, vcpus=vm.host.cpus, virt_type=vm.virt_type,
                  domain_type=domain_type, disks=disks, nics=tuple(nics), arch=vm.host.arch,
                  machine=attrs.get("libvirt_machine") or None,
                  bootloader_args=f"--hostname={vm.host.name}" if vm.virt_type == "para" else None,
                  uuid=host_attrs.get("vm_uuid") or None)


def is_vm(session: Session, host: Host) -> bool:
    return session.scalar(select(VmNode.id).where(VmNode.host_id == host.id)) is not None
