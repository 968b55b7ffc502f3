from __future__ import annotations

import pytest

from tests.netboot.kernel import KernelKit, kernel_kit


@pytest.fixture(scope="session")
def kernel() -> KernelKit:
    return kernel_kit()
