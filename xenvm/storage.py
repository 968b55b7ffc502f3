"""Volume streaming between containers through libvirt (virStorageVol download/upload), no ssh.

Copies are sparse when both ends support it (holes travel as hole markers, not zeros), and
verified: the destination is read back and compared with the source by size and by a
canonical digest that does not depend on how the stream was split into data and holes.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import HypervisorUnavailable, StorageError, VMError
from .hypervisor import LibvirtHypervisor, _libvirt

CHUNK = 256 * 1024  # libvirt's stream packet payload limit
BLOCK = 1024 * 1024  # digest granularity
_ZERO = bytes(BLOCK)


class Digest:
    """SHA-256 over (block index, block bytes) of every non-zero 1 MiB block, plus total length.

    Zero blocks are skipped, so a hole and the same number of zero bytes hash the same and a
    36 GB sparse disk costs only its allocated data.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._buf = bytearray()
        self._index = 0
        self.length = 0

    def data(self, chunk: bytes) -> None:
        self.length += len(chunk)
        view = memoryview(chunk)
        while view:
            take = BLOCK - len(self._buf)
            self._buf += view[:take]
            view = view[take:]
            if len(self._buf) == BLOCK:
                self._flush()

    def hole(self, length: int) -> None:
        self.length += length
        if self._buf:
            fill = min(length, BLOCK - len(self._buf))
            self._buf += bytes(fill)
            length -= fill
            if len(self._buf) == BLOCK:
                self._flush()
        skip, rest = divmod(length, BLOCK)
        self._index += skip
        self._buf += bytes(rest)

    def _flush(self) -> None:
        if self._buf != _ZERO[: len(self._buf)]:
            self._sha.update(self._index.to_bytes(8, "big") + bytes(self._buf))
        self._index += 1
        self._buf = bytearray()

    def hexdigest(self) -> str:
        if self._buf:
            self._flush()
        return f"{self.length}:{self._sha.hexdigest()}"


@dataclass(frozen=True)
class CopyResult:
    src_path: str
    dst_path: str
    length: int  # bytes streamed, holes included
    digest: str  # Digest.hexdigest() of both ends (they matched)
    sparse: bool


def _read(
    hv: LibvirtHypervisor,
    pool: str,
    name: str,
    sink: Callable[[bytes | int], None],
    offset: int = 0,
    length: int = 0,
) -> bool:
    """Stream a volume (or ``length`` bytes from ``offset``; 0 = to the end) into ``sink``
    (bytes for data, int for a hole). Returns True if the stream was sparse."""
    libvirt = _libvirt()
    vol = hv.volume_handle(pool, name)
    for sparse in (True, False):
        stream = hv.conn.newStream(0)
        flags = libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM if sparse else 0
        try:
            vol.download(stream, offset, length, flags)
        except libvirt.libvirtError as exc:
            with contextlib.suppress(libvirt.libvirtError):
                stream.abort()
            if sparse and exc.get_error_code() in _unsupported(libvirt):
                continue  # e.g. an old daemon: fall back to a plain stream
            raise hv.error(exc, f"read volume {name} in pool {pool}", storage=True) from None
        try:
            while True:
                got = (
                    stream.recvFlags(CHUNK, libvirt.VIR_STREAM_RECV_STOP_AT_HOLE)
                    if sparse
                    else stream.recv(CHUNK)
                )
                if got == -3:
                    sink(int(stream.recvHole(0)))
                    continue
                if not got:
                    break
                sink(got)
            stream.finish()
        except BaseException:
            with contextlib.suppress(Exception):
                stream.abort()
            raise
        return sparse
    raise StorageError(f"cannot read volume {name} on container {hv.label}", container=hv.label)


def _unsupported(libvirt: Any) -> set[int]:
    return {libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED}


def volume_digest(hv: LibvirtHypervisor, pool: str, name: str) -> str:
    """Digest of a volume's content as stored on the container (streams the whole volume)."""
    digest = Digest()
    libvirt = _libvirt()
    try:
        _read(hv, pool, name, lambda x: digest.hole(x) if isinstance(x, int) else digest.data(x))
    except libvirt.libvirtError as exc:
        raise hv.error(exc, f"read volume {name} in pool {pool}", storage=True) from None
    return digest.hexdigest()


def download_bytes(hv: LibvirtHypervisor, pool: str, name: str, offset: int = 0, length: int = 0) -> bytes:
    """Volume content from ``offset`` (``length`` 0: to the end), holes as zeros. For tests, small reads."""
    out = bytearray()
    libvirt = _libvirt()
    try:
        _read(hv, pool, name, lambda x: out.extend(bytes(x) if isinstance(x, int) else x), offset, length)
    except libvirt.libvirtError as exc:
        raise hv.error(exc, f"read volume {name} in pool {pool}", storage=True) from None
    return bytes(out)


def upload_bytes(hv: LibvirtHypervisor, pool: str, name: str, data: bytes, offset: int = 0) -> None:
    """Write ``data`` into an existing volume at ``offset`` (e.g. to seed a disk image)."""
    libvirt = _libvirt()
    vol = hv.volume_handle(pool, name)
    stream = hv.conn.newStream(0)
    try:
        vol.upload(stream, offset, len(data), 0)
        _send(stream, data)
        stream.finish()
    except libvirt.libvirtError as exc:
        with contextlib.suppress(libvirt.libvirtError):
            stream.abort()
        raise hv.error(exc, f"write volume {name} in pool {pool}", storage=True) from None


def _send(stream: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        sent = int(stream.send(bytes(view[:CHUNK])))
        if sent <= 0:  # blocking streams never do this; refuse to spin or drop data
            raise StorageError(f"volume stream refused data (send returned {sent})")
        view = view[sent:]


def _zeros(length: int) -> Iterator[bytes]:
    """A hole as zero chunks, for a destination that cannot take holes."""
    while length > 0:
        take = min(length, CHUNK)
        yield bytes(take)
        length -= take


def copy_volume(
    src_hv: LibvirtHypervisor,
    src_pool: str,
    name: str,
    dst_hv: LibvirtHypervisor,
    dst_pool: str,
    dst_name: str | None = None,
) -> CopyResult:
    """Copy volume ``name`` to a new volume in ``dst_pool`` through libvirt streams, then verify it.

    The destination volume must not exist (a copy never overwrites a disk). On any failure the
    partial destination volume is deleted (best effort) and the error is raised.
    """
    libvirt = _libvirt()
    dst_name = dst_name or name
    capacity, _alloc, fmt = src_hv.volume_info(src_pool, name)
    if dst_hv.volume_exists(dst_pool, dst_name):
        raise StorageError(
            f"volume {dst_name} already exists in pool {dst_pool} on container {dst_hv.label}; "
            "refusing to overwrite it",
            container=dst_hv.label,
        )
    dst_path = dst_hv.create_volume_bytes(dst_pool, dst_name, capacity, fmt)
    try:
        digest, sparse = _pump(src_hv, src_pool, name, dst_hv, dst_pool, dst_name, libvirt)
        check = volume_digest(dst_hv, dst_pool, dst_name)
        if check != digest:
            raise StorageError(
                f"copy of volume {name} to container {dst_hv.label} is corrupt: "
                f"source {digest}, destination {check}",
                container=dst_hv.label,
            )
    except BaseException as exc:
        try:
            dst_hv.delete_volume(dst_pool, dst_name)
        except VMError:
            if isinstance(exc, VMError):
                raise type(exc)(
                    f"{exc} (partial copy {dst_path} left behind)", vm=exc.vm, container=exc.container
                ) from None
        raise
    return CopyResult(src_hv.volume_path(src_pool, name), dst_path, int(digest.split(":")[0]), digest, sparse)


def _pump(
    src_hv: LibvirtHypervisor,
    src_pool: str,
    name: str,
    dst_hv: LibvirtHypervisor,
    dst_pool: str,
    dst_name: str,
    libvirt: Any,
) -> tuple[str, bool]:
    """Download from the source and upload to the destination in the same loop (no temp files)."""
    digest = Digest()
    up = dst_hv.conn.newStream(0)
    dst_vol = dst_hv.volume_handle(dst_pool, dst_name)
    up_sparse = False

    def sink(item: bytes | int) -> None:
        if isinstance(item, int):
            up.sendHole(item, 0)
            digest.hole(item)
        else:
            _send(up, item)
            digest.data(item)

    try:
        try:
            dst_vol.upload(up, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
            up_sparse = True
        except libvirt.libvirtError as exc:
            if exc.get_error_code() not in _unsupported(libvirt):
                raise
            up = dst_hv.conn.newStream(0)
            dst_vol.upload(up, 0, 0, 0)
        if up_sparse:
            sparse = _read(src_hv, src_pool, name, sink)
        else:  # the destination cannot take holes: expand them into zeros, a chunk at a time

            def dense(item: bytes | int) -> None:
                for chunk in _zeros(item) if isinstance(item, int) else (item,):
                    sink(chunk)

            sparse = _read(src_hv, src_pool, name, dense)
        up.finish()
    except libvirt.libvirtError as exc:
        with contextlib.suppress(Exception):
            up.abort()
        raise _blame(exc, src_hv, dst_hv, name) from None
    except BaseException:
        with contextlib.suppress(Exception):
            up.abort()
        raise
    return digest.hexdigest(), sparse and up_sparse


def _blame(exc: Any, src_hv: LibvirtHypervisor, dst_hv: LibvirtHypervisor, name: str) -> VMError:
    """Attribute a stream error to the container whose link died, else report a storage error."""
    for hv in (dst_hv, src_hv):
        err = hv.error(exc, f"copy volume {name} ({src_hv.label} -> {dst_hv.label})", storage=True)
        if isinstance(err, HypervisorUnavailable):
            return err
    return StorageError(
        f"cannot copy volume {name} from container {src_hv.label} to {dst_hv.label}: "
        f"{exc.get_error_message() or exc}",
        container=dst_hv.label,
    )
