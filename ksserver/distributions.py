"""OS trees: import an installation tree (a directory or an ISO image) as ``<root>/install/os/<arch>/``,
the tree that ``rocks-dist dist`` links and installers fetch, and copy its PXE kernel and initrd into the
TFTP boot area ``<tftp_dir>/images/<name>/<arch>/``.

ISO images are read with pycdlib (never mounted: no root, no loop device).  Every name read from an
image is checked before it becomes a path, so a crafted image cannot write outside the tree.  Both
destinations are built in a staging directory and renamed into place under a lock, so installers see
the old tree or the new one, never half of each; staging left by a killed import is removed by the
next one.
"""

from __future__ import annotations

import configparser
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ksserver.errors import InvalidArgument, NotFound, RocksError

PXE_KERNEL = "images/pxeboot/vmlinuz"
PXE_INITRD = "images/pxeboot/initrd.img"
MARKER = ".ksserver-tree.json"  # dot-file: /install/ does not serve it
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
ARCH_RE = re.compile(r"[a-z0-9_]{1,16}")


class DistributionError(RocksError):
    """An OS tree that cannot be imported: the message names the source and what is wrong."""


@dataclass(frozen=True)
class DistributionInfo:
    name: str
    arch: str
    tree: Path                       # <root>/install/os/<arch>
    boot_dir: Path                   # <tftp_dir>/images/<name>/<arch>
    kernel: Path
    initrd: Path
    source: str
    family: str = ""                 # from .treeinfo / .discinfo, when present
    version: str = ""
    repos: tuple[str, ...] = field(default=())   # tree-relative dirs holding repodata/
    files: int = 0

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("tree", "boot_dir", "kernel", "initrd"):
            data[key] = str(data[key])
        data["repos"] = list(self.repos)
        return data


def safe_relpath(name: str, origin: str) -> PurePosixPath:
    """A path from an image or tree as a relative path that stays inside the destination."""
    if not name or "\x00" in name or "\\" in name:
        raise DistributionError(f"{origin}: unsafe file name {name!r}")
    path = PurePosixPath(name.lstrip("/"))
    if any(part in ("", ".", "..") for part in path.parts) or not path.parts:
        raise DistributionError(f"{origin}: file name {name!r} escapes the tree (path traversal)")
    return path


def _check_names(name: str, arch: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise InvalidArgument(f"distribution name {name!r}: use letters, digits and . _ + - (up to 64)")
    if not ARCH_RE.fullmatch(arch):
        raise InvalidArgument(f"architecture {arch!r}: expected e.g. x86_64 or aarch64")


# --- readers: one interface over a directory and an ISO image -----------------------------------

class _DirectorySource:
    def __init__(self, path: Path):
        self.path = path.resolve()
        self.label = str(path)

    def entries(self) -> Iterator[tuple[PurePosixPath, str]]:
        """(relative path, "dir" | "file") in walk order; symlinks must stay inside the tree."""
        for dirpath, dirnames, filenames in os.walk(self.path, followlinks=False):
            here = Path(dirpath)
            for name in sorted(dirnames) + sorted(filenames):
                full = here / name
                rel = safe_relpath(str(full.relative_to(self.path)), self.label)
                if full.is_symlink() and not full.resolve().is_relative_to(self.path):
                    raise DistributionError(f"{self.label}: symlink {rel} points outside the tree")
                yield rel, "dir" if full.is_dir() else "file"
            dirnames.sort()

    def copy(self, rel: PurePosixPath, out: BinaryIO) -> None:
        with open(self.path / rel, "rb") as handle:
            shutil.copyfileobj(handle, out, 1 << 20)

    def close(self) -> None:
        pass


class _IsoSource:
    def __init__(self, path: Path):
        import pycdlib  # imported here: only an ISO import needs it
        from pycdlib.pycdlibexception import PyCdlibException

        self.label = str(path)
        self.iso = pycdlib.PyCdlib()
        try:
            self.iso.open(str(path))
        except (PyCdlibException, OSError, ValueError) as exc:
            raise DistributionError(f"{path}: not a readable ISO 9660 image ({exc})") from None
        # Rock Ridge keeps the real names; Joliet next; plain ISO 9660 names carry ';1' versions.
        if self.iso.has_rock_ridge():
            self.facet = "rr_path"
        elif self.iso.has_joliet():
            self.facet = "joliet_path"
        elif self.iso.has_udf():
            self.facet = "udf_path"
        else:
            self.facet = "iso_path"

    def _name(self, name: str) -> str:
        return name.split(";")[0] if self.facet == "iso_path" else name

    def entries(self) -> Iterator[tuple[PurePosixPath, str]]:
        for dirpath, dirnames, filenames in self.iso.walk(**{self.facet: "/"}):
            for kind, names in (("dir", dirnames), ("file", filenames)):
                for raw in sorted(names):
                    name = self._name(raw)
                    if "/" in name:  # a component may not hold a separator
                        raise DistributionError(f"{self.label}: file name {name!r} escapes the tree "
                                                f"(path traversal)")
                    rel = safe_relpath(f"{dirpath.rstrip('/')}/{name}", self.label)
                    if kind == "file" and self.facet == "rr_path":
                        record = self.iso.get_record(rr_path=f"{dirpath.rstrip('/')}/{raw}")
                        if record.rock_ridge is not None and record.rock_ridge.is_symlink():
                            kind = "symlink"
                    yield rel, kind

    def copy(self, rel: PurePosixPath, out: BinaryIO) -> None:
        names = {"iso_path": f"/{rel};1"} if self.facet == "iso_path" else {self.facet: f"/{rel}"}
        self.iso.get_file_from_iso_fp(out, **names)

    def close(self) -> None:
        self.iso.close()


def _open_source(source: Path) -> _DirectorySource | _IsoSource:
    if not source.exists():
        raise NotFound(f"{source}: no such file or directory")
    if source.is_dir():
        return _DirectorySource(source)
    return _IsoSource(source)


# --- metadata ------------------------------------------------------------------------------------

def read_tree_metadata(tree: Path) -> tuple[str, str, str]:
    """(family, version, arch) from .treeinfo, else .discinfo; empty strings when neither says."""
    treeinfo = tree / ".treeinfo"
    if treeinfo.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(treeinfo.read_text(errors="replace"), source=str(treeinfo))
        except configparser.Error as exc:
            raise DistributionError(f"{treeinfo}: not a valid .treeinfo: {exc}") from None
        # productmd 1.x has [release] + [tree]; the older format has [general].
        release = parser["release"] if parser.has_section("release") else None
        general = parser["general"] if parser.has_section("general") else None
        tree_sec = parser["tree"] if parser.has_section("tree") else None
        family = (release or general or {}).get("name", "") or (general or {}).get("family", "")
        version = (release or general or {}).get("version", "")
        arch = (tree_sec or general or {}).get("arch", "")
        return family, version, arch
    discinfo = tree / ".discinfo"
    if discinfo.is_file():
        lines = discinfo.read_text(errors="replace").splitlines() + ["", "", ""]
        words = lines[1].rsplit(" ", 1)  # e.g. "Red Hat Enterprise Linux 9.4"
        return words[0], words[1] if len(words) > 1 else "", lines[2].strip()
    return "", "", ""


def _find_repos(tree: Path) -> tuple[str, ...]:
    found = sorted(str(p.parent.parent.relative_to(tree)) for p in tree.glob("**/repodata/repomd.xml"))
    if not found:
        found = sorted(str(p.parent.relative_to(tree)) for p in tree.glob("**/repodata") if p.is_dir())
    return tuple(found)


# --- import --------------------------------------------------------------------------------------

@contextmanager
def _arch_lock(os_dir: Path, arch: str) -> Iterator[None]:
    os_dir.mkdir(parents=True, exist_ok=True)
    with open(os_dir / f".{arch}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DistributionError(f"another import into {os_dir / arch} is running") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _clean_stale(parent: Path, prefix: str) -> None:
    # Called with the lock held: any staging dir still there belongs to an import that died.
    for stale in parent.glob(prefix + "*"):
        shutil.rmtree(stale, ignore_errors=True)


def _swap(staging: Path, target: Path) -> None:
    old = target.parent / f".{target.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _extract(reader: _DirectorySource | _IsoSource, staging: Path) -> int:
    count = 0
    for rel, kind in reader.entries():
        dest = staging / rel
        if kind == "dir":
            dest.mkdir(parents=True, exist_ok=True)
        elif kind == "symlink":
            continue  # Rock Ridge symlinks (rare in vendor media) are not needed to install
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as out:
                reader.copy(rel, out)
            count += 1
    return count


def import_tree(source: Path, root: Path, name: str, arch: str = "x86_64",
                tftp_dir: Path | None = None) -> DistributionInfo:
    """Import ``source`` (directory or ISO) as ``<root>/install/os/<arch>/`` and its PXE kernel and
    initrd into ``<tftp_dir>/images/<name>/<arch>/`` (``tftp_dir`` defaults to ``<root>/tftpboot``)."""
    _check_names(name, arch)
    source = Path(source)
    tftp_dir = Path(tftp_dir) if tftp_dir is not None else Path(root) / "tftpboot"
    os_dir = Path(root) / "install" / "os"
    boot_parent = tftp_dir / "images" / name
    reader = _open_source(source)
    try:
        with _arch_lock(os_dir, arch):
            prefix = f".{arch}.staging-"
            _clean_stale(os_dir, prefix)
            _clean_stale(boot_parent, prefix)
            staging = Path(tempfile.mkdtemp(prefix=prefix, dir=os_dir))
            boot_staging: Path | None = None
            try:
                files = _extract(reader, staging)
                for required in (PXE_KERNEL, PXE_INITRD):
                    if not (staging / required).is_file():
                        raise DistributionError(f"{source}: no {required}: not a network-installable "
                                                f"OS tree (is this a boot-only or live image?)")
                family, version, tree_arch = read_tree_metadata(staging)
                if tree_arch and tree_arch != arch:
                    raise DistributionError(f"{source}: the tree is for {tree_arch}, not {arch}")
                boot_parent.mkdir(parents=True, exist_ok=True)
                boot_staging = Path(tempfile.mkdtemp(prefix=prefix, dir=boot_parent))
                for required in (PXE_KERNEL, PXE_INITRD):
                    shutil.copy2(staging / required, boot_staging / Path(required).name)
                tree, boot_dir = os_dir / arch, boot_parent / arch
                info = DistributionInfo(name=name, arch=arch, tree=tree, boot_dir=boot_dir,
                                        kernel=boot_dir / "vmlinuz", initrd=boot_dir / "initrd.img",
                                        source=str(source), family=family, version=version,
                                        repos=_find_repos(staging), files=files)
                (staging / MARKER).write_text(json.dumps(info.to_json(), indent=1) + "\n")
                for path in (staging, boot_staging):
                    path.chmod(0o755)
                _swap(staging, tree)
                _swap(boot_staging, boot_dir)
                return info
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                if boot_staging is not None:
                    shutil.rmtree(boot_staging, ignore_errors=True)
                raise
    finally:
        reader.close()


def list_trees(root: Path) -> list[DistributionInfo]:
    """Imported trees under ``<root>/install/os/``, by architecture."""
    os_dir = Path(root) / "install" / "os"
    found = []
    for tree in sorted(os_dir.glob("*")):
        marker = tree / MARKER
        if tree.name.startswith(".") or not marker.is_file():
            continue
        data = json.loads(marker.read_text())
        for key in ("tree", "boot_dir", "kernel", "initrd"):
            data[key] = Path(data[key])
        data["repos"] = tuple(data.get("repos", ()))
        found.append(DistributionInfo(**data))
    return found
