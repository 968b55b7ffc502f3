"""CLI tests may start real libvirtd containers: reuse the xenvm fixtures."""

from tests.xenvm.conftest import libvirt_cache_home, libvirtd_factory  # noqa: F401
