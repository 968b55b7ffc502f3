"""What installers ask for and tell: their kickstart, their partition layout.

These are the hot paths of a boot storm, so they work from the in-memory inventory snapshot
(``ksserver.inventory.snapshot``) and write only when the installer reports something new.
The caller (the web layer) turns HTTP into an ``InstallerRequest`` and the result back into HTTP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ksserver import partition_kickstart
from ksserver.db.group_commit import GroupCommit
from ksserver.errors import InvalidArgument
from ksserver.inventory import hosts, partition_reports, requester
from ksserver.inventory.requester import Request as InstallerRequest
from ksserver.inventory.snapshot import HostView, InventorySnapshot

log = logging.getLogger("ksserver.installer")

__all__ = ["InstallerRequest", "InstallerRuntime", "kickstart", "report_partitions", "report_plan"]


@dataclass
class InstallerRuntime:
    """Per-process state of the installer endpoints: database, snapshot and the kickstart compiler."""

    db: Any                   # ksserver.db.session.Database
    snapshot: InventorySnapshot
    kickstarts: Any           # ksserver.kickstarts.KickstartService
    settings: Any = None      # ksserver.config.Settings: status reports rewrite boot files
    partition_writes: GroupCommit[partition_reports.Report] = field(init=False)

    def __post_init__(self) -> None:
        self.partition_writes = GroupCommit(self.db, partition_reports.store_reports)


def _identify(rt: InstallerRuntime, req: InstallerRequest) -> HostView:
    if req.preview is not None and req.admin_token:
        from ksserver.inventory import admin

        with rt.db.session() as session:
            req = req._replace(admin=admin.verify(session, req.admin_token))
    rt.snapshot.sync()
    return requester.identify(rt.snapshot, req)


def kickstart(rt: InstallerRuntime, req: InstallerRequest, arch: str | None = None, np: str | None = None,
              record: bool = True, server_url: str = "") -> str:
    """The requesting host's kickstart.  ``arch``/``np`` (what the installer says of itself) are recorded
    before generating, so arch-conditional nodes see them, as Rocks did; ``record=False`` (HEAD, previews)
    changes nothing.  ``server_url`` (http://host:port the installer used) is where the plugin fetches its
    bundle and reports; default: the frontend's private name."""
    arch, cpus = requester.validate_install_report(arch, np)
    host = _identify(rt, req)
    changed = (arch is not None and arch != host.arch) or (cpus is not None and cpus != host.cpus)
    if record and req.preview is None and changed:
        with rt.db.session(write=True) as session:
            hosts.record_install_report(session, hosts.get_host(session, host.name), arch, cpus)
        rt.snapshot.sync(force=True)
        host = rt.snapshot.hosts[host.id]
    attrs, text, headers = _rendered(rt, host, req.headers_env)
    if host.partitioning[1] and record and req.preview is None:  # type: ignore[index]
        # This install starts: the last install's plan is history (rare, so a write only then).
        with rt.db.session(write=True) as session:
            partition_reports.clear_plan(session, host.id)
    return _with_sections(rt, host, attrs, text, headers, server_url,
                          req.token if req.preview is None else None)


def _rendered(rt: InstallerRuntime, host: HostView,
              env: dict[str, str] | None) -> tuple[dict[str, str], str, list[str] | None]:
    """(attributes, kickstart, its section headers if known) of ``host``, its recorded layout read once per
    view (partition writes replace the view)."""
    attrs = rt.snapshot.attrs(host)
    text, headers = rt.kickstarts.render_with_headers(host.appliance, host.root, attrs, host.name, env=env,
                                                      generation=rt.snapshot.generation)
    if host.partitioning is None:
        _fill_partitioning(rt, host)
    return attrs, text, headers


def _with_sections(rt: InstallerRuntime, host: HostView, attrs: dict[str, str], text: str,
                   headers: list[str] | None, server_url: str, token: str | None) -> str:
    """``text`` with the installer plugin's sections for ``host`` (``server_url`` default: the frontend's
    private name)."""
    server = server_url or partition_kickstart.server_url("http", None,
                                                          attrs.get("Kickstart_PrivateKickstartHost", ""))
    return partition_kickstart.add_partitioning(
        text, server, host.arch or "x86_64", host.partitioning[0], token,  # type: ignore[index]
        attrs.get("ks_version") or rt.kickstarts.settings.ks_version, headers)


WARMED_GROUPS = 32  # template groups compiled ahead per warming (a site has a handful)


def warm_groups(rt: InstallerRuntime, views: list[HostView]) -> int:
    """Compile and check one kickstart per template group of ``views`` (root, appliance, membership, os,
    arch), as a request would but recording nothing: a group's first installer then finds its template and
    its structure validated (~70 ms of pykickstart otherwise, with every request behind it waiting).
    Returns how many groups were compiled; a group that fails is left for its first request to report."""
    firsts: dict[tuple, HostView] = {}
    for view in views:
        if view.root and len(firsts) < WARMED_GROUPS:
            firsts.setdefault((view.root, view.appliance_id, view.membership, view.os, view.arch), view)
    done = 0
    for host in firsts.values():
        try:
            _with_sections(rt, host, *_rendered(rt, host, None), "", None)
            done += 1
        except Exception as exc:  # noqa: BLE001  (the group's first request reports it)
            log.debug("warming %s's template: %s", host.name, exc)
    return done


def _fill_partitioning(rt: InstallerRuntime, host: HostView) -> None:
    """The recorded layout of ``host``, read with two indexed statements on the snapshot's connection: a
    boot storm is mostly first requests (each installer asks once), so this is on its hot path."""
    host.partitioning = partition_reports.db_info_by_query(rt.snapshot.query, host.id)


def _body(report: Any) -> Any:
    return report() if callable(report) else report


def report_partitions(rt: InstallerRuntime, req: InstallerRequest, report: Any, form: str = "json") -> tuple[str, int]:
    """Replace the reporting host's partition records with its report; (host name, records stored).

    ``form`` is ``json`` (the body: ``rocks_partition.records`` JSON, bytes or text) or ``rocks`` (the
    X-Rocks-PartitionInfo header text). ``report`` may be a callable that produces it: it is called only
    once the sender is identified, so a stranger cannot make the server read (or parse) a body at all.
    A malformed report changes nothing; a report identical to the recorded one writes nothing. A report
    uses up a one-shot reset."""
    if req.preview is not None:
        raise InvalidArgument("client= is not accepted here: a host reports only its own partitions")
    host = _identify(rt, req)  # a stranger learns nothing about the report format from our errors
    if form == "json":
        layout = partition_reports.parse_json(_body(report))
    elif form == "rocks":
        layout = partition_reports.parse_header(_body(report))
    else:
        raise InvalidArgument(f"unknown partition report form {form!r}")
    report = partition_reports.prepare(host.id, layout)  # refused here, before any transaction
    rt.partition_writes.submit(report)  # a storm's reports share transactions (group commit)
    return host.name, len(report.rows)


def report_plan(rt: InstallerRuntime, req: InstallerRequest, body: Any) -> str:
    """Store the plan an installer sent on a stop or a refusal (``{"plan": {...}, "text": str}``), so the
    admin sees it in ``rocks list host partition``; returns the host name."""
    if req.preview is not None:
        raise InvalidArgument("client= is not accepted here: a host reports only its own plan")
    host = _identify(rt, req)
    with rt.db.session(write=True) as session:
        partition_reports.store_plan(session, host.id, _body(body))
    return host.name
