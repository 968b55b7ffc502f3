"""Kickstart generation for hosts from the published generation (``ksserver.generations``): the
node/graph files ``rocks-dist dist`` last validated, never the live site-profile folder.  Before
the first ``rocks-dist dist`` the stock node files are served (they are tested with the package)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from ksserver import __version__, generations, published
from ksserver.config import Settings
from ksserver.db.models import Host
from ksserver.db.session import Database
from ksserver.errors import DistError, GraphError, InvalidArgument
from ksserver.graph import GraphLibrary, KickstartCompiler, Source, stock_nodes_dir
from ksserver.inventory import context

log = logging.getLogger("ksserver.kickstarts")
STOCK = "stock"  # the generation id while nothing has been published


class KickstartService:
    """Owns the compiled graph library of the served generation for one process; thread-safe."""

    def __init__(self, settings: Settings, live_sources: Callable[[], list[Source]] | None = None,
                 db: Database | None = None):
        self.settings = settings
        self._db = db  # to write a generation this instance lacks from the database (ksserver.published)
        # What an admin edits (stock, enabled rolls, site profile): compared with the served generation.
        self._live = live_sources or (lambda: generations.live_sources(settings))
        self._lock = threading.Lock()
        self._current: tuple[str, KickstartCompiler] | None = None  # one store: readers take no lock
        self._site_checked = 0.0
        self._site_seen: tuple[str | None, tuple] | None = None
        self.last_error: GraphError | None = None

    def sources(self, generation: str | None) -> list[Source]:
        if generation is None:
            return [Source(path=stock_nodes_dir(), label=STOCK)]
        return generations.generation_sources(self.settings, generation)

    def compiler(self, generation: str | None = None) -> KickstartCompiler:
        """The compiler of ``generation`` (a published digest; None: the stock files).  Switching is one
        load when the database names a new generation; nothing is reloaded because files changed."""
        current = self._current
        if current is None or current[0] != (generation or STOCK):
            with self._lock:
                current = self._current
                if current is None or current[0] != (generation or STOCK):
                    current = self._current = self._load(generation)
        self._watch_site(generation)
        return current[1]

    def _load(self, generation: str | None) -> tuple[str, KickstartCompiler]:
        try:
            if generation is not None and self._db is not None:
                # Published by another instance: written here from the database first (once per switch).
                published.sync(self.settings, self._db, want=generation)
            library = GraphLibrary.load(self.sources(generation))
        except (GraphError, DistError, OSError, ValueError) as exc:
            # A published generation was validated; failing to read it back means the install tree is damaged.
            self.last_error = exc if isinstance(exc, GraphError) else GraphError(
                f"generation {generation} cannot be read: {exc}")
            log.error("generation %s not loaded: %s", generation, self.last_error)
            raise self.last_error from None
        settings = self.settings
        compiler = KickstartCompiler(library, evals=settings.evals, eval_timeout=settings.eval_timeout,
                                     eval_user=settings.eval_user, ks_version=settings.ks_version)
        self.last_error = None
        log.info("serving node/graph generation %s", (generation or STOCK)[:12])
        return generation or STOCK, compiler

    def site_changes(self, generation: str | None) -> str | None:
        """A warning when the live stock + site-profile files differ from the served generation (Rocks'
        most common pitfall: editing a node file and forgetting to rebuild), else None."""
        live_sources = self._live()
        live = generations.digest(generations.collect(live_sources))
        if generation == live:
            return None
        served = f"generation {generation[:12]}" if generation else \
            "the stock node files (nothing published yet)"
        if generation is None and not generations.collect(live_sources[1:]):
            return None  # no site profile at all: stock is exactly what should be served
        return (f"site profiles changed since the published generation: installers get {served}; "
                f"run 'rocks-dist dist' (rocks create distro) to validate and publish the edits")

    def _watch_site(self, generation: str | None) -> None:
        """Log once per change of the site-profile files when they differ from what is served: a listing
        and a stat per file every reload_interval on the request path; files are read only after a change."""
        now = time.monotonic()
        if now - self._site_checked < self.settings.reload_interval:
            return
        self._site_checked = now
        try:
            site = generations.collect(self._live()[1:])
            stamp = tuple((f.path, f.path.stat().st_mtime_ns, f.path.stat().st_size) for f in site)
        except OSError:
            return
        seen = (generation, stamp)
        if seen == self._site_seen:
            return
        self._site_seen = seen
        try:
            warning = self.site_changes(generation)
        except OSError:
            return
        if warning:
            log.warning("%s", warning)

    # A missing ks_version attribute needs no default here: the compiler falls back to settings.ks_version.

    def render(self, appliance: str, root: str, attrs: dict[str, str], host: str,
               env: dict[str, str] | None = None, generation: str | None = None) -> str:
        _require_root(host, appliance, root)
        return self.compiler(generation).kickstart(root, attrs, env=env)

    def render_with_headers(self, appliance: str, root: str, attrs: dict[str, str], host: str,
                            env: dict[str, str] | None = None,
                            generation: str | None = None) -> tuple[str, list[str] | None]:
        """``render`` and the section headers when known without a scan (``KickstartCompiler.kickstart_with_headers``)."""
        _require_root(host, appliance, root)
        return self.compiler(generation).kickstart_with_headers(root, attrs, env=env)

    # The CLI's way in: straight from the database rows.

    def _db_attrs(self, session: Session, host: Host) -> tuple[str, dict[str, str]]:
        root = host.membership.appliance.node
        _require_root(host.name, host.membership.appliance.name, root)
        return root, context.host_attrs(session, host)

    def published_compiler(self, session: Session) -> KickstartCompiler:
        return self.compiler(generations.published(session))

    def kickstart_for(self, session: Session, host: Host) -> str:
        root, attrs = self._db_attrs(session, host)
        return self.published_compiler(session).kickstart(root, attrs)

    def profile_xml(self, session: Session, host: Host) -> str:
        root, attrs = self._db_attrs(session, host)
        return self.published_compiler(session).profile_xml(root, attrs)

    def graph_dot(self, session: Session, host: Host) -> str:
        root, attrs = self._db_attrs(session, host)
        return self.published_compiler(session).graph_dot(root, attrs)

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
