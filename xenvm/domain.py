"""libvirt domain XML from a VMSpec (pure: no libvirt, no IO), and the reverse "facts" used
to decide whether a defined domain drifted from its spec.

The same function serves Xen (para/hvm), KVM, QEMU/TCG and libvirt's test driver; the
differences are confined to the ``_os``/``_disk``/``_nic`` helpers below.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from lxml import etree

from .errors import InvalidSpec
from .spec import DiskSpec, NicSpec, VMSpec

DEFAULT_BOOTLOADER = "pygrub"
_E = etree.SubElement


QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
PXE_NIC_SLOT = 0x10  # explicit PCI slots for command-line NICs: libvirt does not know to skip them


def domain_xml(spec: VMSpec) -> str:
    """Return the persistent domain definition for ``spec`` as a pretty-printed string."""
    pxe_nics = [n for n in spec.nics if n.bootfile]
    root = etree.Element("domain", type=spec.domain_type, nsmap={"qemu": QEMU_NS} if pxe_nics else None)
    _E(root, "name").text = spec.name
    if spec.uuid:
        _E(root, "uuid").text = spec.uuid
    _E(root, "memory", unit="KiB").text = str(spec.memory_kib)
    _E(root, "vcpu").text = str(spec.vcpus)
    para = spec.virt_type == "para"
    if para:
        _E(root, "bootloader").text = spec.bootloader or DEFAULT_BOOTLOADER
        if spec.bootloader_args:
            _E(root, "bootloader_args").text = spec.bootloader_args
    _os(root, spec)
    if not para:
        features = spec.features
        if features is None:
            features = ("acpi", "apic", "pae") if spec.domain_type == "xen" else ("acpi", "apic")
        feat = _E(root, "features")
        for name in features:
            _E(feat, name)
    _E(root, "clock", offset="utc")
    _E(root, "on_poweroff").text = "destroy"
    _E(root, "on_reboot").text = spec.on_reboot
    _E(root, "on_crash").text = "preserve"  # keep a crashed guest around for inspection
    devices = _E(root, "devices")
    if spec.emulator:
        _E(devices, "emulator").text = spec.emulator
    for disk in spec.disks:
        _disk(devices, disk, spec)
    for nic in spec.nics:
        if not nic.bootfile:
            _nic(devices, nic, spec)
    if para:
        _E(_E(devices, "console", type="pty"), "target", type="xen", port="0")
        if spec.domain_type == "xen":  # the test driver rejects input devices
            _E(devices, "input", type="mouse", bus="xen")
    else:
        _E(_E(devices, "serial", type="pty"), "target", port="0")
        _E(_E(devices, "console", type="pty"), "target", type="serial", port="0")
    if spec.vnc:
        _E(devices, "graphics", type="vnc", port="-1", autoport="yes", listen="127.0.0.1")
    for raw in spec.extra_devices:
        try:
            devices.append(etree.fromstring(raw))
        except etree.XMLSyntaxError as exc:
            raise InvalidSpec(f"VM {spec.name}: bad extra device XML: {exc}", vm=spec.name) from None
    if pxe_nics:
        _pxe_nics(root, pxe_nics)
    return str(etree.tostring(root, pretty_print=True, encoding="unicode"))


def _pxe_nics(root: etree._Element, nics: list[NicSpec]) -> None:
    """User-mode NICs with a DHCP boot file: libvirt's <interface type='user'> cannot set one, so they
    are QEMU arguments (the recipe that PXE-boots under libvirt, environment-recipes section 3)."""
    cmdline = _E(root, f"{{{QEMU_NS}}}commandline")
    for i, nic in enumerate(nics):
        bootfile = (nic.bootfile or "").replace(",", ",,")  # QEMU option syntax: a comma is doubled
        model = "virtio-net-pci" if nic.model in (None, "virtio") else nic.model
        args = ("-netdev", f"user,id=pxe{i},bootfile={bootfile}", "-device",
                f"{model},netdev=pxe{i},mac={nic.mac},bus=pci.0,addr={PXE_NIC_SLOT + i:#x},bootindex={i + 1}")
        for arg in args:
            _E(cmdline, f"{{{QEMU_NS}}}arg", value=arg)


def _os(root: etree._Element, spec: VMSpec) -> None:
    os_el = _E(root, "os")
    type_el = _E(os_el, "type")
    # The test driver only advertises i686, so it gets no arch; real drivers get an explicit one.
    if spec.domain_type != "test":
        type_el.set("arch", spec.arch)
        if spec.machine and spec.virt_type == "hvm":
            type_el.set("machine", spec.machine)
    if spec.virt_type == "para":
        type_el.text = "linux"  # libvirt's name for a Xen PV guest; the bootloader picks the kernel
        return
    type_el.text = "hvm"
    if spec.loader:
        _E(os_el, "loader").text = spec.loader
    if spec.kernel:
        _E(os_el, "kernel").text = spec.kernel
        if spec.initrd:
            _E(os_el, "initrd").text = spec.initrd
        if spec.cmdline:
            _E(os_el, "cmdline").text = spec.cmdline
        return
    for dev in spec.boot:
        _E(os_el, "boot", dev=dev)
    if len(spec.boot) > 1:  # installs (network, hd): let an operator pick at the console
        _E(os_el, "bootmenu", enable="yes")


def _disk(devices: etree._Element, disk: DiskSpec, spec: VMSpec) -> None:
    xen = spec.domain_type == "xen"
    el = _E(devices, "disk", type="file" if disk.is_file else "block", device="disk")
    if disk.vbd_type == "tap:aio":
        _E(el, "driver", name="tap", type="aio")
    elif xen and disk.format == "raw":
        _E(el, "driver", name="phy" if disk.vbd_type == "phy" else "file")
    else:
        _E(el, "driver", name="qemu", type=disk.format)
    if disk.is_file:
        _E(el, "source", file=disk.path)
    else:
        _E(el, "source", dev=disk.path)
    _E(el, "target", dev=disk.device, bus=disk.bus)


def _nic(devices: etree._Element, nic: NicSpec, spec: VMSpec) -> None:
    el = _E(devices, "interface", type=nic.kind)
    if nic.kind == "bridge":
        _E(el, "source", bridge=nic.bridge or "")
    elif nic.kind == "network":
        _E(el, "source", network=nic.bridge or "")
    _E(el, "mac", address=nic.mac)
    if spec.domain_type == "xen" and nic.kind == "bridge":
        _E(el, "script", path="vif-bridge")
    # Xen PV NICs are netfront; a model element would only confuse older toolstacks.
    if nic.model and not (spec.domain_type == "xen" and spec.virt_type == "para"):
        _E(el, "model", type=nic.model)


@dataclass(frozen=True)
class DomainFacts:
    """The parts of a definition that matter for drift: what the operator set through Rocks."""

    memory_kib: int
    vcpus: int
    os_type: str
    boot: tuple[str, ...]
    disks: tuple[tuple[str, str, str, str], ...]  # (target dev, bus, source path, format)
    nics: tuple[tuple[str, str, str], ...]  # (mac, kind, source bridge/network)


_UNIT_KIB = {
    "b": 1 / 1024,
    "bytes": 1 / 1024,
    "k": 1,
    "kib": 1,
    "kb": 1000 / 1024,
    "m": 1024,
    "mib": 1024,
    "mb": 1000**2 / 1024,
    "g": 1024**2,
    "gib": 1024**2,
    "gb": 1000**3 / 1024,
}


def describe(xml: str) -> DomainFacts:
    """Extract :class:`DomainFacts` from domain XML (ours or libvirt's, which adds defaults)."""
    root = etree.fromstring(xml.encode())
    mem = root.find("memory")
    unit = (mem.get("unit") or "KiB").lower() if mem is not None else "kib"
    memory = int(int(mem.text or "0") * _UNIT_KIB.get(unit, 1)) if mem is not None else 0
    disks = []
    for d in root.iterfind("devices/disk"):
        if d.get("device", "disk") != "disk":
            continue
        src = d.find("source")
        path = (src.get("file") or src.get("dev") or "") if src is not None else ""
        tgt, drv = d.find("target"), d.find("driver")
        disks.append(
            (
                tgt.get("dev", "") if tgt is not None else "",
                tgt.get("bus", "") if tgt is not None else "",
                path,
                (drv.get("type") or "raw") if drv is not None else "raw",
            )
        )
    nics = []
    for n in root.iterfind("devices/interface"):
        mac, src = n.find("mac"), n.find("source")
        source = (src.get("bridge") or src.get("network") or "") if src is not None else ""
        nics.append(
            ((mac.get("address") or "").lower() if mac is not None else "", n.get("type", ""), source)
        )
    nics += _pxe_nic_facts(root)
    return DomainFacts(
        memory_kib=memory,
        vcpus=int(root.findtext("vcpu") or "1"),
        os_type=(root.findtext("os/type") or "").replace("xen", "linux"),
        boot=tuple(b.get("dev", "") for b in root.iterfind("os/boot")),
        disks=tuple(disks),
        nics=tuple(nics),
    )


def _options(arg: str) -> dict[str, str]:
    """QEMU's ``a=b,c=d`` option syntax (a doubled comma is a literal one) as a dict; a bare word maps to ""."""
    words = arg.replace(",,", "\0").split(",")
    return {k.replace("\0", ","): v.replace("\0", ",") for k, _, v in (w.partition("=") for w in words)}


def _pxe_nic_facts(root: etree._Element) -> list[tuple[str, str, str]]:
    """(mac, 'user', bootfile) of the command-line NICs ``_pxe_nics`` wrote."""
    args = [a.get("value", "") for a in root.iterfind(f"{{{QEMU_NS}}}commandline/{{{QEMU_NS}}}arg")]
    pairs = [(flag, _options(value)) for flag, value in pairwise(args)
             if flag in ("-netdev", "-device")]
    bootfiles = {o.get("id"): o.get("bootfile", "") for flag, o in pairs if flag == "-netdev" and "user" in o}
    return [(o.get("mac", "").lower(), "user", bootfiles[o["netdev"]])
            for flag, o in pairs if flag == "-device" and o.get("netdev") in bootfiles]


def drift(defined_xml: str, spec: VMSpec) -> list[str]:
    """Human-readable differences between a defined domain and ``spec`` (empty: no drift).

    Driver-specific details (how tap:aio disks read back, for example) are not compared:
    Rocks only lets operators change memory, CPUs, disks, MACs and the boot order.
    """
    have, want = describe(defined_xml), describe(domain_xml(spec))
    out = []
    for field_name in ("memory_kib", "vcpus", "os_type", "boot", "disks", "nics"):
        a, b = getattr(have, field_name), getattr(want, field_name)
        if field_name == "disks":  # compare ignoring driver format on Xen 'file' disks
            a = tuple(x[:3] for x in a) if spec.domain_type == "xen" else a
            b = tuple(x[:3] for x in b) if spec.domain_type == "xen" else b
        if a != b:
            out.append(f"{field_name}: {a} -> {b}")
    return out


def retarget_disks(xml: str, paths: dict[str, str]) -> str:
    """Rewrite disk source paths (old -> new) in domain XML, e.g. a save image's XML on a new container."""
    root = etree.fromstring(xml.encode())
    for src in root.iterfind("devices/disk/source"):
        for attr in ("file", "dev"):
            old = src.get(attr)
            if old in paths:
                src.set(attr, paths[old])
    return str(etree.tostring(root, encoding="unicode"))
