"""The xenvm error tree (standard library only, no libvirt).

    VMError                      base; ``str(err)`` is one line naming the VM and container
    ├── InvalidSpec              a VMSpec/DiskSpec/NicSpec failed validation
    ├── MacRangeExhausted        next_mac() has no address left under the mask
    ├── HypervisorUnavailable    the container's libvirt cannot be reached (or the link died)
    ├── DomainNotFound           no such domain on that container
    ├── InvalidState             operation not valid now (e.g. pause a shut-off VM)
    ├── StorageError             pool/volume/stream failures, copy checksum mismatch
    └── MoveError                move failed; ``restorable_on`` / ``saved_path`` say where the VM is

``libvirt.libvirtError`` is translated into this tree in exactly one place,
``LibvirtHypervisor.error`` (used by ``translating``); only ``hypervisor.py`` and
``storage.py`` ever catch libvirt exceptions.
"""

from __future__ import annotations


class VMError(Exception):
    """Base of every xenvm error; ``vm`` and ``container`` are kept for callers that want them."""

    exit_code = 1

    def __init__(self, message: str, *, vm: str | None = None, container: str | None = None) -> None:
        # Callers print str(err) on one line; libvirt messages may contain newlines.
        super().__init__(" ".join(message.split()))
        self.vm = vm
        self.container = container


class InvalidSpec(VMError, ValueError):
    """The VM description is unusable (bad MAC, unsafe name, memory <= 0 ...)."""


class MacRangeExhausted(VMError):
    """No free MAC address is left under the base/mask."""


class HypervisorUnavailable(VMError):
    """The container's libvirt cannot be reached."""


class DomainNotFound(VMError, LookupError):
    """The named domain is not defined (nor running) on the container."""


class InvalidState(VMError):
    """The domain is not in a state that allows the operation."""


class StorageError(VMError):
    """A storage pool, volume or volume stream operation failed."""


class MoveError(VMError):
    """A move failed; the VM was left (or put back) on the source container.

    ``restorable_on`` is the source container; ``saved_path`` is the saved-state file on it
    when the VM is left saved rather than running again (``None`` if it was restored).
    """

    def __init__(
        self,
        message: str,
        *,
        vm: str | None = None,
        container: str | None = None,
        restorable_on: str | None = None,
        saved_path: str | None = None,
    ) -> None:
        super().__init__(message, vm=vm, container=container)
        self.restorable_on = restorable_on
        self.saved_path = saved_path
