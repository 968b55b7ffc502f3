"""The Flask kickstart server.  ``create_app(settings)`` builds everything; nothing at import time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ksserver.config import Settings, load_settings

if TYPE_CHECKING:  # Flask and SQLAlchemy load in create_app: the install-tree listener imports this package
    from flask import Flask

    from ksserver.db.session import Database


class Services:
    """What the views need, built once per process by create_app."""

    def __init__(self, settings: Settings, db: Database):
        from ksserver.inventory.snapshot import InventorySnapshot
        from ksserver.kickstarts import KickstartService
        from ksserver.services import Cluster
        from ksserver.services.installer import InstallerRuntime

        self.settings = settings
        self.db = db
        self.cluster = Cluster(settings, db)
        from ksserver.services.rolls import cluster_sources

        self.kickstarts = KickstartService(settings, lambda: cluster_sources(self.cluster), db)
        self.snapshot = InventorySnapshot(db, warm=True, on_warm=self._warm_groups)
        self.installer = InstallerRuntime(db, self.snapshot, self.kickstarts, settings)

    def _warm_groups(self, views: list) -> None:
        from ksserver.services.installer import warm_groups

        warm_groups(self.installer, views)


def create_app(settings: Settings | None = None, db: Database | None = None) -> Flask:
    from flask import Flask, redirect

    from ksserver.db.session import Database

    settings = settings or load_settings()
    app = Flask("ksserver")
    logging.getLogger("ksserver").setLevel(settings.log_level.upper())
    services = Services(settings, db or Database.from_url(settings.effective_database_url))
    app.extensions["ksserver"] = services

    # the console_* modules add their pages to console.bp before it is registered
    from ksserver.web import (  # noqa: F401
        api, cli_endpoint, console, console_graph, console_overview, console_site, console_vms, errors, files,
        lifecycle, partitions)
    from ksserver.web.kickstart import KickstartEndpoint

    app.register_blueprint(files.bp)
    app.register_blueprint(partitions.bp)
    app.register_blueprint(lifecycle.bp)
    app.register_blueprint(cli_endpoint.bp)
    api.register(app)
    app.register_blueprint(console.bp)
    app.add_url_rule("/", "root", lambda: redirect("/console/"))
    errors.register(app)
    app.wsgi_app = KickstartEndpoint(services, app.wsgi_app)  # type: ignore[method-assign]
    return app
