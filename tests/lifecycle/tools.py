"""Finding the real tools the tests drive; a missing one is a skip that names its Debian package
(every one is in the Makefile's DEB_PACKAGES, so CI has them all)."""

from __future__ import annotations

import shutil

import pytest

SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"


def need(binary: str, package: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path=SBIN)
    if not found:
        pytest.skip(f"{binary} missing: install the Debian package {package} (make deps)")
    return found
