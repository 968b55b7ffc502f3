"""Where ``/install/<path>`` leads: the one confinement rule for every path to the distribution tree
(the Flask view, the granian front, the install-tree listener).  Stdlib only: the listener's processes
load no Flask and no SQLAlchemy."""

from __future__ import annotations

import functools
import os
import stat

INSTALLER_DOTFILES = frozenset({".treeinfo", ".discinfo"})


def resolve_install_file(dist_dir: str | os.PathLike[str], path: str) -> tuple[str, os.stat_result] | None:
    """(real path, stat) of the regular file that ``/install/<path>`` (decoded, without the prefix) names,
    or None (a 404)."""
    parts = path.split("/")
    if any(part.startswith(".") and part not in INSTALLER_DOTFILES for part in parts) or "" in parts:
        return None  # lock files, staging trees, generations, '..'
    if "\x00" in path:
        return None
    base = _real_path(os.fspath(dist_dir))
    if base is None:
        return None
    found = _real_file(os.path.join(base, *parts))
    if found is None or not found[0].startswith(base.rstrip("/") + "/"):
        return None
    # Callers serve the resolved path, so the read follows no link that the check did not see.
    return found


def resolve_install_path(dist_dir: str | os.PathLike[str], path: str) -> str | None:
    found = resolve_install_file(dist_dir, path)
    return found[0] if found else None


def _real_path(path: str) -> str | None:
    found = _resolve(path)
    return found[0] if found else None


def _real_file(path: str) -> tuple[str, os.stat_result] | None:
    found = _resolve(path)
    return found if found and stat.S_ISREG(found[1].st_mode) else None


def _resolve(path: str) -> tuple[str, os.stat_result] | None:
    """The kernel's resolution of ``path`` (every link followed) and its stat, in three system calls.
    O_PATH opens nothing: a link to a device (/dev/watchdog) has no effect.  Elsewhere: realpath()."""
    if not _proc_fd():
        real = os.path.realpath(path)
        try:
            return real, os.stat(real)
        except OSError:
            return None
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except (OSError, ValueError):
        return None
    try:
        return os.readlink(f"/proc/self/fd/{fd}"), os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


@functools.cache
def _proc_fd() -> bool:
    return hasattr(os, "O_PATH") and os.path.isdir("/proc/self/fd")
