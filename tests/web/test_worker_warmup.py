"""A granian worker is ready before its first installer: the inventory read, the graph compiled, the host
cache filled and each template group's kickstart compiled and checked, in the background, recording nothing."""

from __future__ import annotations

import time

from ksserver.db.session import Database
from ksserver.inventory import hosts
from ksserver.services import installer
from ksserver.web.rsgi import InstallerServer


def _wait_warm(server: InstallerServer, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while server.services.snapshot._warming.locked() or server.services.snapshot._warm_wanted:
        assert time.monotonic() < end, "the worker did not warm up"
        time.sleep(0.02)


def _recorded(settings) -> dict[str, tuple]:
    db = Database.from_url(settings.effective_database_url)
    try:
        with db.session() as session:
            return {h.name: (h.arch, h.cpus) for h in hosts.list_hosts(session)}
    finally:
        db.dispose()


def test_a_worker_warms_up_before_its_first_request(cluster, settings):
    server = InstallerServer(settings)
    try:
        _wait_warm(server)
        snap, kickstarts = server.services.snapshot, server.services.kickstarts
        assert kickstarts._current is not None  # the served graph is compiled
        boot = _recorded(settings)
        assert {v.name for v in snap.cached_views()} == set(boot)
        # one template per kickstartable group (compute; the frontend's appliance has a root too), compiled
        compiler = kickstarts.compiler(snap.generation)
        assert compiler.cache_info()["templates"] >= 1
        assert _recorded(settings) == boot  # nothing recorded
    finally:
        server.__rsgi_del__(None)


def test_warm_groups_compiles_one_kickstart_per_group_and_skips_a_broken_one(cluster, settings):
    server = InstallerServer(settings)
    try:
        _wait_warm(server)
        rt = server.services.installer
        views = rt.snapshot.cached_views()
        groups = {(v.root, v.appliance_id, v.membership, v.os, v.arch) for v in views if v.root}
        assert installer.warm_groups(rt, views) == len(groups)
        assert cluster("set", "host", "attr", "compute-0-0", "ks_version", "NO_SUCH_VERSION").code == 0
        rt.snapshot.sync()
        views = [rt.snapshot.host(v.id) for v in views]
        assert installer.warm_groups(rt, [v for v in views if v.name == "compute-0-0"]) == 0  # logged, not raised
    finally:
        server.__rsgi_del__(None)
