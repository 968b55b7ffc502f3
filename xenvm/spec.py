"""Plain-data description of a VM, handed to xenvm by the inventory (no DB, no libvirt here).

Everything is a frozen dataclass validated in ``__post_init__``; a bad value raises
``InvalidSpec`` naming the VM, so bad DB rows fail before anything touches a container.
"""

from __future__ import annotations

import os
import re
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .errors import InvalidSpec

VIRT_TYPES = ("para", "hvm")
DOMAIN_TYPES = ("xen", "kvm", "qemu", "test")
DISK_BUSES = ("virtio", "ide", "scsi", "sata", "xen")
DISK_FORMATS = ("raw", "qcow2")
VBD_TYPES = ("file", "tap:aio", "phy")
NIC_KINDS = ("bridge", "user", "network")
BOOT_DEVICES = ("network", "hd", "cdrom", "fd")
INSTALL_BOOT = ("network", "hd")  # PXE first; after install the frontend's pxelinux says "localboot"

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# Names end up in file names (<vm>.saved, volume names) and libvirt names.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_DEVICE_RE = re.compile(r"^[a-z]+[a-z0-9]*$")


def _check_name(value: str, what: str, vm: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value) or ".." in value or len(value) > 200:
        raise InvalidSpec(
            f"VM {vm}: unsafe {what} {value!r} (letters, digits, '._+-'; no '/' or '..')", vm=vm
        )


def normalize_mac(mac: str, vm: str = "?") -> str:
    """Lower-case ``mac`` and check it is a unicast aa:bb:cc:dd:ee:ff address (libvirt refuses multicast)."""
    norm = mac.strip().lower().replace("-", ":")
    if not _MAC_RE.match(norm):
        raise InvalidSpec(f"VM {vm}: bad MAC address {mac!r}", vm=vm)
    if int(norm[:2], 16) & 0x01:
        raise InvalidSpec(f"VM {vm}: MAC address {mac!r} is multicast", vm=vm)
    return norm


@dataclass(frozen=True)
class DiskSpec:
    """One disk. For file disks ``prefix`` is the directory (a storage pool) and ``name`` the volume."""

    name: str
    prefix: str = ""
    device: str = "vda"
    bus: str = "virtio"
    size_gb: int = 36
    format: str = "raw"
    vbd_type: str = "file"

    @property
    def is_file(self) -> bool:
        return self.vbd_type != "phy"

    @property
    def path(self) -> str:
        if not self.is_file:  # phy: a device path such as /dev/vg0/compute-0-0-0 or "sdb"
            return self.name if self.name.startswith("/") else f"/dev/{self.name}"
        return os.path.join(self.prefix, self.name)

    def validate(self, vm: str) -> None:
        if self.vbd_type not in VBD_TYPES:
            raise InvalidSpec(f"VM {vm}: disk {self.name!r}: vbd_type must be one of {VBD_TYPES}", vm=vm)
        if self.is_file:
            _check_name(self.name, "disk file name", vm)
            if not os.path.isabs(self.prefix) or ".." in self.prefix.split("/"):
                raise InvalidSpec(f"VM {vm}: disk {self.name!r}: prefix must be an absolute directory", vm=vm)
            # 0 is allowed (Rocks' column default): the image must then already exist.
            if not isinstance(self.size_gb, (int, float)) or self.size_gb < 0:
                raise InvalidSpec(f"VM {vm}: disk {self.name!r}: size_gb must be >= 0", vm=vm)
        elif not self.name or ".." in self.name.split("/"):
            raise InvalidSpec(f"VM {vm}: bad phy disk {self.name!r}", vm=vm)
        if not _DEVICE_RE.match(self.device):
            raise InvalidSpec(f"VM {vm}: bad disk device {self.device!r}", vm=vm)
        if self.bus not in DISK_BUSES:
            raise InvalidSpec(f"VM {vm}: disk {self.device}: bus must be one of {DISK_BUSES}", vm=vm)
        if self.format not in DISK_FORMATS:
            raise InvalidSpec(f"VM {vm}: disk {self.device}: format must be one of {DISK_FORMATS}", vm=vm)

    @classmethod
    def from_rocks(
        cls, vbd_type: str, prefix: str, name: str, device: str, mode: str, size_gb: int, domain_type: str
    ) -> DiskSpec:
        """Map a Rocks ``vm_disks`` row (VBD_Type, Prefix, Name, Device, Mode, Size) to a DiskSpec.

        Rocks overloads columns: KVM stores the bus in Mode and may store 'qcow2'/'qed' in VBD_Type;
        Xen stores 'w' in Mode and uses the 'xen' bus for xvd* devices.
        """
        fmt = "raw"
        if vbd_type in ("qcow2", "qed"):
            vbd_type, fmt = "file", "qcow2" if vbd_type == "qcow2" else "raw"
        if domain_type == "xen":
            bus = "xen" if device.startswith("xvd") else "ide"
        else:
            bus = mode if mode in DISK_BUSES else "virtio"
        if vbd_type == "phy":
            name, prefix = os.path.join(prefix, name) if prefix else name, ""
        return cls(
            name=name, prefix=prefix, device=device, bus=bus, size_gb=size_gb, format=fmt, vbd_type=vbd_type
        )


@dataclass(frozen=True)
class NicSpec:
    """One NIC. ``bridge`` is the container's bridge for the VM's subnet (kind 'bridge'),
    or the libvirt network name for kind 'network'; kind 'user' (slirp) needs neither."""

    mac: str
    bridge: str | None = None
    model: str | None = "virtio"
    kind: str = "bridge"
    # kind 'user' on QEMU/KVM: the URL slirp's DHCP hands iPXE as its boot file (a PXE install needs it:
    # nobody else answers DHCP on a user-mode network).  Rendered as qemu:commandline, see domain.py.
    bootfile: str | None = None

    def validate(self, vm: str) -> None:
        if self.kind not in NIC_KINDS:
            raise InvalidSpec(f"VM {vm}: NIC {self.mac}: kind must be one of {NIC_KINDS}", vm=vm)
        if self.kind in ("bridge", "network") and not self.bridge:
            raise InvalidSpec(
                f"VM {vm}: NIC {self.mac}: kind {self.kind!r} needs a bridge/network name", vm=vm
            )
        if self.model is not None and not re.match(r"^[A-Za-z0-9_-]+$", self.model):
            raise InvalidSpec(f"VM {vm}: NIC {self.mac}: bad model {self.model!r}", vm=vm)
        if self.bootfile is not None:
            if self.kind != "user":
                raise InvalidSpec(f"VM {vm}: NIC {self.mac}: a boot file needs kind 'user'", vm=vm)
            if not re.match(r"^[!-~]+$", self.bootfile):  # printable, no spaces: one QEMU option value
                raise InvalidSpec(f"VM {vm}: NIC {self.mac}: bad boot file {self.bootfile!r}", vm=vm)


@dataclass(frozen=True)
class VMSpec:
    """What a container needs to run one VM. Memory in MB; ``boot`` in order of preference."""

    name: str
    memory_mb: int = 1024
    vcpus: int = 1
    virt_type: str = "hvm"
    domain_type: str = "kvm"
    disks: tuple[DiskSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    boot: tuple[str, ...] = INSTALL_BOOT
    vnc: bool = True
    uuid: str | None = None
    arch: str = "x86_64"
    machine: str | None = None  # e.g. 'pc'; None lets libvirt pick its default
    emulator: str | None = None  # e.g. Rocks' /usr/libexec/qemu-kvm or Xen's qemu-dm
    loader: str | None = None  # Xen HVM firmware, e.g. /usr/lib/xen/boot/hvmloader
    features: tuple[str, ...] | None = None  # None: acpi, apic (+ pae on Xen) for HVM
    bootloader: str | None = None  # Xen para; None means 'pygrub'
    bootloader_args: str | None = None  # e.g. '--hostname=compute-0-0-0' for rocks-pygrub
    kernel: str | None = None  # direct kernel boot (Rocks "install vm frontend")
    initrd: str | None = None
    cmdline: str | None = None
    on_reboot: str = "restart"
    extra_devices: tuple[str, ...] = field(default=())  # raw device XML (Rocks kvm_device_<n>)

    def __post_init__(self) -> None:
        vm = self.name if isinstance(self.name, str) else "?"
        _check_name(self.name, "VM name", vm)
        if not isinstance(self.memory_mb, int) or self.memory_mb <= 0:
            raise InvalidSpec(f"VM {vm}: memory_mb must be a positive integer, got {self.memory_mb!r}", vm=vm)
        if not isinstance(self.vcpus, int) or self.vcpus <= 0:
            raise InvalidSpec(f"VM {vm}: vcpus must be a positive integer, got {self.vcpus!r}", vm=vm)
        if self.virt_type not in VIRT_TYPES:
            raise InvalidSpec(
                f"VM {vm}: virt_type must be one of {VIRT_TYPES}, got {self.virt_type!r}", vm=vm
            )
        if self.domain_type not in DOMAIN_TYPES:
            raise InvalidSpec(
                f"VM {vm}: domain_type must be one of {DOMAIN_TYPES}, got {self.domain_type!r}", vm=vm
            )
        if self.virt_type == "para" and self.domain_type in ("kvm", "qemu"):
            raise InvalidSpec(f"VM {vm}: KVM/QEMU VMs must be 'hvm' (para is Xen only)", vm=vm)
        # Tuples keep the dataclass hashable/frozen even when the caller passed lists.
        for attr in ("disks", "nics", "boot", "extra_devices"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        if self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
        for disk in self.disks:
            disk.validate(vm)
            if disk.bus == "xen" and self.domain_type not in ("xen", "test"):
                raise InvalidSpec(f"VM {vm}: disk {disk.device}: bus 'xen' needs a Xen domain", vm=vm)
        _unique([d.device for d in self.disks], "disk device", vm)
        _unique([d.path for d in self.disks], "disk path", vm)
        nics = tuple(replace(n, mac=normalize_mac(n.mac, vm)) for n in self.nics)
        for nic in nics:
            nic.validate(vm)
            if nic.bootfile and self.domain_type not in ("qemu", "kvm"):
                raise InvalidSpec(f"VM {vm}: NIC {nic.mac}: a user-mode boot file needs a QEMU/KVM domain", vm=vm)
        _unique([n.mac for n in nics], "MAC address", vm)
        object.__setattr__(self, "nics", nics)
        bad = [b for b in self.boot if b not in BOOT_DEVICES]
        if bad or (not self.boot and self.virt_type == "hvm" and not self.kernel):
            raise InvalidSpec(f"VM {vm}: boot must be a non-empty sequence of {BOOT_DEVICES}", vm=vm)
        if self.uuid is not None:
            try:
                object.__setattr__(self, "uuid", str(uuidlib.UUID(self.uuid)))
            except ValueError:
                raise InvalidSpec(f"VM {vm}: bad uuid {self.uuid!r}", vm=vm) from None
        if self.on_reboot not in ("restart", "destroy", "preserve"):
            raise InvalidSpec(f"VM {vm}: on_reboot must be restart, destroy or preserve", vm=vm)

    @property
    def memory_kib(self) -> int:
        return self.memory_mb * 1024

    @property
    def file_disks(self) -> tuple[DiskSpec, ...]:
        return tuple(d for d in self.disks if d.is_file)

    def state_dir(self) -> str | None:
        """Directory for ``<vm>.saved``: the first file disk's pool, so the file can be streamed."""
        disks = self.file_disks
        return disks[0].prefix if disks else None

    def saved_path(self) -> str | None:
        directory = self.state_dir()
        return os.path.join(directory, f"{self.name}.saved") if directory else None


def _unique(values: Iterable[str], what: str, vm: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise InvalidSpec(f"VM {vm}: duplicate {what} {value!r}", vm=vm)
        seen.add(value)
