"""Kickstart generation for hosts: node-graph sources (stock + site profile), reloaded when files
change, with the last good library kept when a site profile is broken."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import Session

from ksserver import __version__
from ksserver.config import Settings
from ksserver.db.models import Host
from ksserver.errors import GraphError, InvalidArgument
from ksserver.graph import GraphLibrary, KickstartCompiler, Source, stock_nodes_dir
from ksserver.inventory import context

log = logging.getLogger("ksserver.kickstarts")


class KickstartService:
    """Owns the compiled graph library for one process; thread-safe."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._library: GraphLibrary | None = None
        self._compiler: KickstartCompiler | None = None
        self._checked = 0.0
        self.last_error: GraphError | None = None

    def sources(self) -> list[Source]:
        return [Source(path=stock_nodes_dir(), label="stock"),
                Source(path=self.settings.site_profile_dir, label="site")]

    def compiler(self) -> KickstartCompiler:
        now = time.monotonic()
        if self._compiler is not None and now - self._checked < self.settings.reload_interval:
            return self._compiler
        with self._lock:
            if self._compiler is None or (now - self._checked >= self.settings.reload_interval
                                          and self._library is not None and self._library.is_stale()):
                self._load()
            self._checked = now
            if self._compiler is None:
                assert self.last_error is not None
                raise self.last_error
            return self._compiler

    def _load(self) -> None:
        try:
            library = GraphLibrary.load(self.sources())
        except GraphError as exc:
            # Keep serving the last good library; the error is logged and shown by `rocks list host profile`.
            self.last_error = exc
            log.error("node/graph files not reloaded: %s", exc)
            return
        self._library = library
        self._compiler = KickstartCompiler(library, evals=self.settings.evals,
                                           eval_timeout=self.settings.eval_timeout,
                                           ks_version=self.settings.ks_version)
        self.last_error = None

    # A missing ks_version attribute needs no default here: the compiler falls back to settings.ks_version.

    def render(self, appliance: str, root: str, attrs: dict[str, str], host: str,
               env: dict[str, str] | None = None) -> str:
        _require_root(host, appliance, root)
        return self.compiler().kickstart(root, attrs, env=env)

    # The CLI's way in: straight from the database rows.

    def _db_attrs(self, session: Session, host: Host) -> tuple[str, dict[str, str]]:
        root = host.membership.appliance.node
        _require_root(host.name, host.membership.appliance.name, root)
        return root, context.host_attrs(session, host)

    def kickstart_for(self, session: Session, host: Host) -> str:
        root, attrs = self._db_attrs(session, host)
        return self.compiler().kickstart(root, attrs)

    def profile_xml(self, session: Session, host: Host) -> str:
        root, attrs = self._db_attrs(session, host)
        return self.compiler().profile_xml(root, attrs)

    def graph_dot(self, session: Session, host: Host) -> str:
        root, attrs = self._db_attrs(session, host)
        return self.compiler().graph_dot(root, attrs)

    def node_attrs(self, session: Session, appliance: str | None = None,
                   extra: dict[str, str] | None = None) -> dict[str, str]:
        """Attributes for traversing from an arbitrary node (``rocks list node xml``,
        ``rocks list appliance graph``): globals, then the appliance's, then ``extra``."""
        from ksserver.inventory import appliances, attributes

        attrs = attributes.global_attrs(session)
        attrs.update({"os": "linux", "arch": "x86_64", "distribution": "rocks-dist", "graph": "default",
                      "hostname": attrs.get("Kickstart_PrivateHostname", "frontend"), "membership": "Frontend",
                      "appliance": "frontend", "rack": "0", "rank": "0", "cpus": "1",
                      "hostaddr": attrs.get("Kickstart_PrivateAddress", ""), "ksmac": "", "ksdevice": "eth0",
                      "netmask": attrs.get("Kickstart_PrivateNetmask", ""), "version": __version__})
        if appliance:
            app = appliances.get_appliance(session, appliance)
            attrs.update(attributes.appliance_attrs(session, app))
            attrs.update({"appliance": app.name, "root": app.node, "graph": app.graph,
                          "membership": app.memberships[0].name if app.memberships else app.name})
        attrs.update(extra or {})
        return attrs


def _require_root(host: str, appliance: str, root: str) -> None:
    if not root:
        raise InvalidArgument(f"host {host} is a {appliance}, which is not kickstartable "
                              f"(its appliance has no root node)")
