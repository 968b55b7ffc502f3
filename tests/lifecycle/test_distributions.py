"""OS tree import from a directory and from a real ISO image (built with xorriso, read with pycdlib)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pycdlib
import pytest

from ksserver.distributions import DistributionError, import_tree, list_trees, read_tree_metadata
from ksserver.errors import InvalidArgument, NotFound
from tests.lifecycle.trees import make_iso, make_tree


def test_import_iso_builds_tree_and_boot_area(tmp_path: Path) -> None:
    iso = make_iso(make_tree(tmp_path / "src"), tmp_path / "dvd.iso")
    root = tmp_path / "state"
    info = import_tree(iso, root, "rocky9", "x86_64")
    tree = root / "install" / "os" / "x86_64"
    assert info.tree == tree
    assert (tree / "images" / "pxeboot" / "vmlinuz").read_bytes() == b"KERNEL" * 1000
    assert (tree / "BaseOS" / "repodata" / "repomd.xml").is_file()
    assert (tree / ".treeinfo").is_file()
    assert info.boot_dir == root / "tftpboot" / "images" / "rocky9" / "x86_64"
    assert info.kernel.read_bytes() == b"KERNEL" * 1000
    assert info.initrd.read_bytes() == b"INITRD" * 3000
    assert (info.family, info.version) == ("Rocky Linux", "9.4")
    assert info.repos == ("BaseOS",)
    assert list_trees(root) == [info]
    # nothing left behind: no staging, no .old
    assert sorted(p.name for p in tree.parent.iterdir()) == [".x86_64.lock", "x86_64"]
    assert sorted(p.name for p in info.boot_dir.parent.iterdir()) == ["x86_64"]


def test_import_directory_with_explicit_tftp_dir(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", treeinfo=False)
    info = import_tree(src, tmp_path / "state", "rocky9", "x86_64", tftp_dir=tmp_path / "tftp")
    assert info.kernel == tmp_path / "tftp" / "images" / "rocky9" / "x86_64" / "vmlinuz"
    assert (info.family, info.version) == ("Rocky Linux", "9.4")  # from .discinfo


def test_reimport_replaces_the_tree_and_cleans_stale_staging(tmp_path: Path) -> None:
    root = tmp_path / "state"
    import_tree(make_tree(tmp_path / "a"), root, "rocky9")
    stale = root / "install" / "os" / ".x86_64.staging-dead"
    (stale / "junk").mkdir(parents=True)
    src = make_tree(tmp_path / "b")
    (src / "NEWFILE").write_text("new\n")
    import_tree(src, root, "rocky9")
    tree = root / "install" / "os" / "x86_64"
    assert (tree / "NEWFILE").read_text() == "new\n"
    assert not stale.exists()


def test_failed_import_keeps_the_old_tree(tmp_path: Path) -> None:
    root = tmp_path / "state"
    first = import_tree(make_tree(tmp_path / "a"), root, "rocky9")
    bad = make_iso(make_tree(tmp_path / "b", pxeboot=False), tmp_path / "boot-less.iso")
    with pytest.raises(DistributionError, match=r"boot-less.iso: no images/pxeboot/vmlinuz"):
        import_tree(bad, root, "rocky9")
    assert list_trees(root) == [first]
    assert first.kernel.is_file()
    assert not list((root / "install" / "os").glob(".x86_64.staging-*"))


def test_arch_mismatch_is_refused(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", arch="aarch64")
    with pytest.raises(DistributionError, match="the tree is for aarch64, not x86_64"):
        import_tree(src, tmp_path / "state", "rocky9", "x86_64")


def test_missing_source_and_bad_names(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nope.iso: no such file or directory"):
        import_tree(tmp_path / "nope.iso", tmp_path / "state", "rocky9")
    src = make_tree(tmp_path / "src")
    for name in ("../evil", "a/b", ".hidden", "x\ny"):
        with pytest.raises(InvalidArgument):
            import_tree(src, tmp_path / "state", name)
    with pytest.raises(InvalidArgument):
        import_tree(src, tmp_path / "state", "ok", arch="../x")


def test_not_an_iso(tmp_path: Path) -> None:
    junk = tmp_path / "junk.iso"
    junk.write_bytes(os.urandom(70000))
    with pytest.raises(DistributionError, match="junk.iso: not a readable ISO 9660 image"):
        import_tree(junk, tmp_path / "state", "rocky9")


def test_iso_with_dotdot_name_cannot_escape(tmp_path: Path) -> None:
    """A crafted image whose Rock Ridge name is '..' (pycdlib writes it; xorriso would not)."""
    iso_path = tmp_path / "evil.iso"
    iso = pycdlib.PyCdlib()
    iso.new(rock_ridge="1.09")
    iso.add_directory("/IMAGES", rr_name="images")
    iso.add_directory("/IMAGES/PXEBOOT", rr_name="pxeboot")
    for ident, rr in (("/IMAGES/PXEBOOT/VMLINUZ.;1", "vmlinuz"), ("/IMAGES/PXEBOOT/INITRD.;1", "initrd.img")):
        iso.add_fp(io.BytesIO(b"k"), 1, ident, rr_name=rr)
    iso.add_fp(io.BytesIO(b"owned"), 5, "/EVIL.;1", rr_name="..")
    iso.write(str(iso_path))
    iso.close()
    root = tmp_path / "state"
    with pytest.raises(DistributionError, match=r"evil.iso: file name '/\.\.' escapes the tree"):
        import_tree(iso_path, root, "rocky9")
    assert not (root / "install" / "x86_64").exists()
    assert list_trees(root) == []


def test_directory_symlink_outside_is_refused(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    (tmp_path / "secret").write_text("s3cret\n")
    (src / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(DistributionError, match="symlink link points outside the tree"):
        import_tree(src, tmp_path / "state", "rocky9")


def test_broken_treeinfo_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ".treeinfo").write_text("no section header\n")
    with pytest.raises(DistributionError, match=r"\.treeinfo: not a valid \.treeinfo"):
        read_tree_metadata(tmp_path)
