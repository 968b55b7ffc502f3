"""Kickstart and graph inspection for admins: a host's kickstart, profile XML and graph."""

from __future__ import annotations

import shutil
import subprocess

from ksserver.errors import InvalidArgument, RocksError
from ksserver.inventory import appliances, hosts
from ksserver.services import Cluster


def _kickstarts(cluster: Cluster):  # type: ignore[no-untyped-def]
    from ksserver.kickstarts import KickstartService  # the compiler (lxml, pykickstart) only when used
    from ksserver.services.rolls import cluster_sources

    return KickstartService(cluster.settings, lambda: cluster_sources(cluster), cluster.db)


def host_kickstarts(cluster: Cluster, names: list[str]) -> list[str]:
    """The validated kickstart each host gets (from the published generation)."""
    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        return [service.kickstart_for(session, h) for h in hosts.get_hosts(session, names)]


def unpublished_site_changes(cluster: Cluster) -> str | None:
    """A warning when the site profiles differ from the generation installers get, else None."""
    from ksserver import generations

    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        return service.site_changes(generations.published(session))


def host_profile_xml(cluster: Cluster, name: str) -> str:
    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        return str(service.profile_xml(session, hosts.get_host(session, name)))


def node_profile_xml(cluster: Cluster, node: str, appliance: str | None, attrs: dict[str, str]) -> str:
    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        merged = service.node_attrs(session, appliance, attrs)
        compiler = service.published_compiler(session)
    return str(compiler.profile_xml(node, merged))


def host_graph(cluster: Cluster, name: str, fmt: str = "dot") -> str:
    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        dot = service.graph_dot(session, hosts.get_host(session, name))
    return render_graph(dot, fmt)


def appliance_graph(cluster: Cluster, name: str, fmt: str = "dot") -> str:
    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        app = appliances.get_appliance(session, name)
        if not app.node:
            raise InvalidArgument(f"appliance {app.name} is not kickstartable (no root node)")
        attrs = service.node_attrs(session, app.name)
        root = app.node
        compiler = service.published_compiler(session)
    return render_graph(compiler.graph_dot(root, attrs), fmt)


def render_graph(dot: str, fmt: str) -> str:
    if fmt == "dot":
        return dot
    if fmt != "svg":
        raise InvalidArgument(f"format must be dot or svg, not {fmt!r}")
    if shutil.which("dot") is None:
        raise RocksError("format=svg needs graphviz (apt-get install graphviz)")
    done = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RocksError(f"dot failed: {done.stderr.strip()}")
    return done.stdout


def host_reconfigure(cluster: Cluster, name: str) -> str:
    """The host's reconfigure-phase scripts (``phase="reconfigure"``), which installs never run."""
    from ksserver.inventory import context

    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        host = hosts.get_host(session, name)
        root = host.membership.appliance.node
        if not root:
            raise InvalidArgument(f"host {name} is not kickstartable (its appliance has no root node)")
        attrs = context.host_attrs(session, host)
    return str(service.compiler().reconfigure_scripts(root, attrs))
