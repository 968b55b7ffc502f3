"""Fixtures for xenvm tests.

* ``test_uri`` / ``test_hv``: libvirt's in-process test driver with a private node file, so each
  test gets a fresh, isolated "container" (``test:///default`` shares one state per process).
* ``libvirtd_factory`` / ``libvirtd``: real unprivileged libvirtd instances (QEMU/TCG), see
  ``libvirtd.py``; skipped with a reason if libvirtd/qemu are not installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

import pytest

from xenvm import LibvirtHypervisor

from .libvirtd import NOBODY, SessionLibvirtd, missing_requirements


@pytest.fixture
def test_uri(tmp_path) -> str:
    """A private test-driver URI: every connection to it starts from this (empty) node file."""
    pytest.importorskip("libvirt", reason="libvirt-python not installed")
    node = tmp_path / "node.xml"
    node.write_text("<node/>\n")
    return f"test://{node}"


@pytest.fixture
def test_hv(test_uri) -> Iterator[LibvirtHypervisor]:
    hv = LibvirtHypervisor(test_uri, label="test-container")
    yield hv
    hv.close()


@pytest.fixture
def make_test_hv(tmp_path) -> Iterator[Callable[[str], LibvirtHypervisor]]:
    """Build several independent test-driver containers (e.g. source and destination of a move)."""
    pytest.importorskip("libvirt", reason="libvirt-python not installed")
    made: list[LibvirtHypervisor] = []

    def make(label: str) -> LibvirtHypervisor:
        node = tmp_path / f"{label}-node.xml"
        node.write_text("<node/>\n")
        made.append(LibvirtHypervisor(f"test://{node}", label=label))
        return made[-1]

    yield make
    for hv in made:
        hv.close()


@pytest.fixture(scope="session")
def libvirt_cache_home() -> Iterator[str]:
    """One XDG cache shared by all test daemons: QEMU capabilities are probed once, not per daemon."""
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    path = tempfile.mkdtemp(prefix="xvm-cache-", dir="/tmp")
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def libvirtd_factory(libvirt_cache_home) -> Iterator[Callable[[], SessionLibvirtd]]:
    """Start any number of private libvirtd 'containers'; all are killed at teardown."""
    started: list[SessionLibvirtd] = []

    def start() -> SessionLibvirtd:
        daemon = SessionLibvirtd(cache_home=libvirt_cache_home)
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        daemon.cleanup()


@pytest.fixture
def libvirtd(libvirtd_factory) -> SessionLibvirtd:
    return libvirtd_factory()
