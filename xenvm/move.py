"""Move a VM between containers: save -> stream disks and state -> define + restore -> clean up.

The invariant: until the VM runs on the destination, nothing on the source is deleted, so a
failure at any step leaves it restorable where it was (and it is restored there when the
destination is known not to run it). Destination partial copies are removed on failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from .domain import domain_xml, retarget_disks
from .errors import (
    DomainNotFound,
    HypervisorUnavailable,
    InvalidSpec,
    InvalidState,
    MoveError,
    StorageError,
    VMError,
)
from .hypervisor import LibvirtHypervisor
from .spec import VMSpec
from .storage import CopyResult, copy_volume

LIVE = ("active", "paused")


@dataclass(frozen=True)
class MoveResult:
    """What the caller needs to update its DB (only returned after success)."""

    spec: VMSpec  # the VM as defined on the destination: disk prefixes = dst_pool_path, uuid kept
    source: str
    destination: str
    state: str  # state on the destination ('active'/'paused' after a live move, 'shutoff' cold)
    copies: tuple[CopyResult, ...]
    leftovers: tuple[str, ...]  # source clean-up that failed after the move (the VM is fine)


def move_vm(
    spec: VMSpec,
    src: LibvirtHypervisor,
    dst: LibvirtHypervisor,
    dst_pool_path: str,
    restore_on_failure: bool = True,
) -> MoveResult:
    """Move ``spec``'s VM from ``src`` to ``dst``, its file disks into directory ``dst_pool_path``.

    A running or paused VM is saved, its RAM state streamed with the disks and restored on the
    destination; a stopped VM is moved cold. Raises MoveError (VM on the source) on failure.
    """
    name = spec.name
    plan = _preflight(spec, src, dst, dst_pool_path)
    live = plan.state in LIVE
    saved_src = os.path.join(plan.state_dir, f"{name}.saved") if live else None
    if live:
        try:
            src.save(name, saved_src or "")
        except VMError as exc:
            raise MoveError(
                f"cannot move VM {name}: saving it on container {src.label} failed: {exc}",
                vm=name,
                container=src.label,
                restorable_on=src.label,
            ) from None
    attempted: list[str] = []
    copies: list[CopyResult] = []
    progress = {"defined": False, "restoring": False}
    try:
        for disk in spec.file_disks:
            attempted.append(disk.name)
            copies.append(copy_volume(src, plan.src_pools[disk.prefix], disk.name, dst, plan.dst_pool))
        if live:
            attempted.append(f"{name}.saved")
            copies.append(
                copy_volume(src, plan.src_pools[plan.state_dir], f"{name}.saved", dst, plan.dst_pool)
            )
        dst.define(domain_xml(plan.new_spec))
        progress["defined"] = True
        if live:
            saved_dst = dst.volume_path(plan.dst_pool, f"{name}.saved")
            moved = {d.path: n.path for d, n in zip(spec.file_disks, plan.new_spec.file_disks, strict=True)}
            xml = None
            if any(old != new for old, new in moved.items()):  # Xen's libxl cannot rewrite; skip if same
                xml = retarget_disks(dst.saved_image_xml(saved_dst), moved)
            progress["restoring"] = True
            dst.restore(saved_dst, xml)
    except Exception as exc:  # any failure, even a bug, must roll back
        err = exc if isinstance(exc, VMError) else VMError(f"{type(exc).__name__}: {exc}", vm=name)
        raise _rollback(
            err,
            spec,
            src,
            dst,
            (plan.dst_pool, dst_pool_path),
            attempted,
            progress,
            saved_src,
            restore_on_failure and live,
        ) from (None if err is exc else exc)
    leftovers = _commit(spec, src, dst, plan, saved_src)
    return MoveResult(plan.new_spec, src.label, dst.label, dst.state(name), tuple(copies), tuple(leftovers))


@dataclass(frozen=True)
class _Plan:
    state: str
    state_dir: str
    src_pools: dict[str, str]
    dst_pool: str
    new_spec: VMSpec


def _preflight(spec: VMSpec, src: LibvirtHypervisor, dst: LibvirtHypervisor, dst_pool_path: str) -> _Plan:
    """Every check that can fail before anything changes on either container."""
    name = spec.name
    state = src.state(name)
    if state == "undefined":
        raise DomainNotFound(
            f"VM {name} is not defined on container {src.label}", vm=name, container=src.label
        )
    if state not in LIVE + ("shutoff",):
        raise InvalidState(
            f"cannot move VM {name} on container {src.label}: it is {state}", vm=name, container=src.label
        )
    if src.uri == dst.uri:
        raise InvalidSpec(f"VM {name}: source and destination are the same container {src.label}", vm=name)
    if not os.path.isabs(dst_pool_path):
        raise InvalidSpec(f"VM {name}: destination directory {dst_pool_path!r} is not absolute", vm=name)
    names = [d.name for d in spec.file_disks]
    if len(set(names)) != len(names):
        raise InvalidSpec(f"VM {name}: two disks share a file name; they would collide in one pool", vm=name)
    state_dir = spec.state_dir() or ""
    if state in LIVE and not state_dir:
        raise InvalidSpec(f"VM {name} has no file disk whose pool could hold its saved state", vm=name)
    if dst.state(name) != "undefined":
        raise InvalidState(f"VM {name} already exists on container {dst.label}", vm=name, container=dst.label)
    src_pools = {d.prefix: src.ensure_dir_pool(None, d.prefix) for d in spec.file_disks}
    for pool in set(src_pools.values()):
        src.refresh_pool(pool)
    for disk in spec.file_disks:
        if not src.volume_exists(src_pools[disk.prefix], disk.name):
            raise StorageError(
                f"VM {name}: disk {disk.path} is missing on container {src.label}",
                vm=name,
                container=src.label,
            )
    dst_pool = dst.ensure_dir_pool(None, dst_pool_path)
    dst.refresh_pool(dst_pool)
    for vol in names + ([f"{name}.saved"] if state in LIVE else []):
        if dst.volume_exists(dst_pool, vol):
            raise StorageError(
                f"VM {name}: {vol} already exists in {dst_pool_path} on container {dst.label}; "
                "refusing to overwrite it",
                vm=name,
                container=dst.label,
            )
    _check_room(spec, src, src_pools, dst, dst_pool, dst_pool_path, state in LIVE)
    disks = tuple(replace(d, prefix=dst_pool_path) if d.is_file else d for d in spec.disks)
    new_spec = replace(spec, disks=disks, uuid=spec.uuid or src.uuid(name))
    return _Plan(state, state_dir, src_pools, dst_pool, new_spec)


def _check_room(
    spec: VMSpec,
    src: LibvirtHypervisor,
    src_pools: dict[str, str],
    dst: LibvirtHypervisor,
    dst_pool: str,
    dst_pool_path: str,
    live: bool,
) -> None:
    """Fail before the VM stops if the destination cannot take the copies: write a probe volume
    (catches permissions) and compare free space with the disks' allocation plus RAM."""
    probe = f".xenvm-probe-{spec.name}"
    dst.create_volume_bytes(dst_pool, probe, 0)
    dst.delete_volume(dst_pool, probe)
    need = sum(src.volume_info(src_pools[d.prefix], d.name)[1] for d in spec.file_disks)
    need += spec.memory_mb * 1024 * 1024 if live else 0
    free = dst.pool_available(dst_pool)
    if free < need:
        raise StorageError(
            f"VM {spec.name}: {dst_pool_path} on container {dst.label} has {free >> 20} MiB free, "
            f"the move needs about {need >> 20} MiB",
            vm=spec.name,
            container=dst.label,
        )


def _rollback(
    exc: VMError,
    spec: VMSpec,
    src: LibvirtHypervisor,
    dst: LibvirtHypervisor,
    dst_pool: tuple[str, str],
    attempted: list[str],
    progress: dict[str, bool],
    saved_src: str | None,
    restore: bool,
) -> MoveError:
    """Undo the destination side, then bring the VM back on the source if that is safe."""
    name = spec.name
    dst_clean, dst_may_run = _clean_destination(exc, spec, dst, dst_pool, attempted, progress)
    notes = [] if dst_clean is None else [dst_clean]
    where = f"the VM is still on {src.label}"
    saved_left = None
    if saved_src:
        if restore and not dst_may_run:
            try:
                src.restore(saved_src)
                where = f"the VM was restored on {src.label}"
                _best_effort(notes, lambda: _delete_path(src, saved_src))
            except VMError as err:
                saved_left = saved_src
                where = f"the VM is saved on {src.label} at {saved_src} (restore failed: {err})"
        else:
            saved_left = saved_src
            where = f"the VM is saved on {src.label} at {saved_src}; restore it there"
    tail = f"; also: {'; '.join(notes)}" if notes else ""
    return MoveError(
        f"cannot move VM {name} from {src.label} to {dst.label}: {exc}; {where}{tail}",
        vm=name,
        container=src.label,
        restorable_on=src.label,
        saved_path=saved_left,
    )


def _clean_destination(
    exc: VMError,
    spec: VMSpec,
    dst: LibvirtHypervisor,
    dst_pool: tuple[str, str],
    attempted: list[str],
    progress: dict[str, bool],
) -> tuple[str | None, bool]:
    """Remove the domain and partial copies from the destination.

    Returns (note about what could not be cleaned or None, whether the VM may run there).
    """
    name = spec.name
    try:
        if isinstance(exc, HypervisorUnavailable) and exc.container == dst.label:
            raise exc  # no point retrying every clean-up step against a dead container
        if progress["defined"]:
            if dst.state(name) in LIVE + ("shutdown", "crashed"):
                dst.destroy(name)
            if dst.state(name) != "undefined":
                dst.undefine(name)
        for vol in attempted:
            _delete_if_exists(dst, dst_pool[0], vol)
    except VMError:
        left = ", ".join(attempted) or "nothing"
        domain = f" and the domain {name}" if progress["defined"] else ""
        # If the restore was under way we cannot tell whether the VM now runs there.
        return (
            f"could not clean up {dst.label}: remove {left} from {dst_pool[1]}{domain} there",
            progress["restoring"],
        )
    return None, False


def _commit(
    spec: VMSpec, src: LibvirtHypervisor, dst: LibvirtHypervisor, plan: _Plan, saved_src: str | None
) -> list[str]:
    """The VM runs on the destination: remove it from the source. Failures are only reported."""
    notes: list[str] = []
    # A transient (Rocks createLinux-style) domain is already gone once saved.
    _best_effort(notes, lambda: None if src.state(spec.name) == "undefined" else src.undefine(spec.name))
    for disk in spec.file_disks:
        _best_effort(notes, partial(src.delete_volume, plan.src_pools[disk.prefix], disk.name))
    if saved_src:
        _best_effort(notes, lambda: src.delete_volume(plan.src_pools[plan.state_dir], f"{spec.name}.saved"))
        _best_effort(notes, lambda: _delete_if_exists(dst, plan.dst_pool, f"{spec.name}.saved"))
    return notes


def _delete_if_exists(hv: LibvirtHypervisor, pool: str, vol: str) -> None:
    if hv.volume_exists(pool, vol):
        hv.delete_volume(pool, vol)


def _delete_path(hv: LibvirtHypervisor, path: str) -> None:
    pool = hv.pool_for_path(os.path.dirname(path))
    if pool:
        _delete_if_exists(hv, pool, os.path.basename(path))


def _best_effort(notes: list[str], action: Callable[[], None]) -> None:
    try:
        action()
    except VMError as err:
        notes.append(str(err))
