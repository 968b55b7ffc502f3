"""xenvm: Xen/KVM/QEMU virtual machines for ksserver, through libvirt-python only.

Driven by plain data (``VMSpec``) from the ksserver inventory/CLI; never imports ksserver.
``libvirt`` is imported lazily inside ``xenvm.hypervisor`` so this package imports without it.

    spec        VMSpec / DiskSpec / NicSpec (validated, frozen)
    domain      domain_xml(spec) -> str, drift(defined_xml, spec)
    mac         next_mac(existing, base, mask)
    hypervisor  LibvirtHypervisor(uri): domains and storage pools on one container
    storage     copy_volume(...) between containers through libvirt streams
    manager     VMManager(hypervisor): create/start/stop/pause/resume/save/restore/status/remove/move
    move        move_vm(spec, src, dst, dst_pool_path) -> MoveResult
    errors      VMError tree
"""

from .domain import domain_xml, drift
from .errors import (
    DomainNotFound,
    HypervisorUnavailable,
    InvalidSpec,
    InvalidState,
    MacRangeExhausted,
    MoveError,
    StorageError,
    VMError,
)
from .hypervisor import LibvirtHypervisor
from .mac import next_mac
from .manager import VMManager
from .move import MoveResult, move_vm
from .spec import DiskSpec, NicSpec, VMSpec
from .storage import CopyResult, copy_volume

__all__ = [
    "CopyResult",
    "DiskSpec",
    "DomainNotFound",
    "HypervisorUnavailable",
    "InvalidSpec",
    "InvalidState",
    "LibvirtHypervisor",
    "MacRangeExhausted",
    "MoveError",
    "MoveResult",
    "NicSpec",
    "StorageError",
    "VMError",
    "VMManager",
    "VMSpec",
    "copy_volume",
    "domain_xml",
    "drift",
    "move_vm",
    "next_mac",
]
