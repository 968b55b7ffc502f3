"""What installers ask for and tell: their kickstart, their partition layout.

These are the hot paths of a boot storm, so they work from the in-memory inventory snapshot
(``ksserver.inventory.snapshot``) and write only when the installer reports something new.
The caller (the web layer) turns HTTP into an ``InstallerRequest`` and the result back into HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ksserver.errors import InvalidArgument
from ksserver.inventory import hosts, partition_reports, requester
from ksserver.inventory.requester import Request as InstallerRequest
from ksserver.inventory.snapshot import HostView, InventorySnapshot

__all__ = ["InstallerRequest", "InstallerRuntime", "kickstart", "report_partitions"]


@dataclass
class InstallerRuntime:
    """Per-process state of the installer endpoints: database, snapshot and the kickstart compiler."""

    db: Any                   # ksserver.db.session.Database
    snapshot: InventorySnapshot
    kickstarts: Any           # ksserver.kickstarts.KickstartService
    settings: Any = None      # ksserver.config.Settings: status reports rewrite boot files


def _identify(rt: InstallerRuntime, req: InstallerRequest) -> HostView:
    if req.preview is not None and req.admin_token:
        from ksserver.inventory import admin

        with rt.db.session() as session:
            req = replace(req, admin=admin.verify(session, req.admin_token))
    rt.snapshot.sync()
    return requester.identify(rt.snapshot, req)


def kickstart(rt: InstallerRuntime, req: InstallerRequest, arch: str | None = None, np: str | None = None,
              record: bool = True) -> str:
    """The requesting host's kickstart.  ``arch``/``np`` (what the installer says of itself) are recorded
    before generating, so arch-conditional nodes see them, as Rocks did; ``record=False`` (HEAD, previews)
    changes nothing."""
    arch, cpus = requester.validate_install_report(arch, np)
    host = _identify(rt, req)
    changed = (arch is not None and arch != host.arch) or (cpus is not None and cpus != host.cpus)
    if record and req.preview is None and changed:
        with rt.db.session(write=True) as session:
            hosts.record_install_report(session, hosts.get_host(session, host.name), arch, cpus)
        rt.snapshot.sync(force=True)
        host = rt.snapshot.hosts[host.id]
    return str(rt.kickstarts.render(host.appliance, host.root, rt.snapshot.attrs(host), host.name,
                                    env=req.headers_env, generation=rt.snapshot.generation))


def report_partitions(rt: InstallerRuntime, req: InstallerRequest, report: Any, form: str = "json") -> tuple[str, int]:
    """Replace the reporting host's partition records with its report; (host name, records stored).

    ``form`` is ``json`` (a decoded JSON document) or ``rocks`` (the X-Rocks-PartitionInfo header text).
    ``report`` may be a callable that produces it: it is called only once the sender is identified, so a
    stranger cannot make the server read (or parse) a body at all."""
    if req.preview is not None:
        raise InvalidArgument("client= is not accepted here: a host reports only its own partitions")
    host = _identify(rt, req)  # a stranger learns nothing about the report format from our errors
    if callable(report):
        report = report()
    if form == "json":
        specs = partition_reports.parse_json_report(report)
    elif form == "rocks":
        specs = partition_reports.parse_rocks_header(report)
    else:
        raise InvalidArgument(f"unknown partition report form {form!r}")
    with rt.db.session(write=True) as session:
        count = partition_reports.replace_partitions(session, host.id, specs)
    return host.name, count
