"""``rocks create distro`` / ``rocks-dist dist``: the validated build that installers are served."""

from __future__ import annotations

from ksserver.inventory import validate
from ksserver.services import Cluster


def build(cluster: Cluster, arch: str = "x86_64"):  # type: ignore[no-untyped-def]
    """Compile and validate every host's kickstart, then publish the tree (see ``ksserver.dist``)."""
    from ksserver.dist import build_distribution  # heavy imports (graph compiler) only when used
    from ksserver.services.rolls import cluster_sources

    return build_distribution(cluster.settings, cluster.db, validate.arch(arch), cluster_sources(cluster))
