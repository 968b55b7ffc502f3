"""What a partition report writes (SQLite and PostgreSQL): nothing when it is what is recorded, one change of
the host's recorded layout when it is not; concurrent reports share transactions (group commit), each
all-or-nothing."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from ksserver.db.group_commit import GroupCommit
from ksserver.db.models import Change, HostPartitioning
from ksserver.errors import DatabaseError
from ksserver.inventory import hosts as inv_hosts
from ksserver.inventory import partition_reports
from ksserver.inventory.hosts import HostRequest
from ksserver.inventory.snapshot import InventorySnapshot
from ksserver.kickstarts import KickstartService
from ksserver.services import hosts, installer, interfaces, partitions
from ksserver.services.installer import InstallerRequest, InstallerRuntime

GIB_S = 2 * 1024 * 1024


def _report(root_gib: int = 16, data_mount: str = "/state/partition1") -> str:
    return json.dumps({"version": 1, "disks": {"sda": {"size": 100 * GIB_S, "label": "gpt", "partitions": [
        {"device": "sda1", "start": 2048, "size": root_gib * GIB_S, "fstype": "xfs", "mountpoint": "/",
         "flags": ["boot"]},
        {"device": "sda5", "start": 2048 + root_gib * GIB_S, "size": 8 * GIB_S, "fstype": "xfs",
         "mountpoint": data_mount}]}}})


@pytest.fixture
def runtime(svc):
    return InstallerRuntime(svc.db, InventorySnapshot(svc.db), KickstartService(svc.settings))


def _req(svc, host: str) -> InstallerRequest:  # type: ignore[no-untyped-def]
    return InstallerRequest(client_ip=interfaces.list_interfaces(svc, [host])[0].ip)


def _changes(svc) -> list[int | None]:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        return list(session.scalars(select(Change.host_id).order_by(Change.seq)))


def _host_id(svc, name: str) -> int:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        return inv_hosts.get_host(session, name).id


def _reported_at(svc, name: str) -> float:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        return session.get(HostPartitioning, _host_id(svc, name)).reported_at


def test_an_identical_report_writes_nothing(svc, runtime):
    assert installer.report_partitions(runtime, _req(svc, "compute-0-0"), _report()) == ("compute-0-0", 2)
    before, at = _changes(svc), _reported_at(svc, "compute-0-0")
    # the first report: a change of that host's recorded layout only (servers drop just that cache)
    assert before[-1] == -_host_id(svc, "compute-0-0")
    assert installer.report_partitions(runtime, _req(svc, "compute-0-0"), _report()) == ("compute-0-0", 2)
    assert _changes(svc) == before  # no change row: no server reloads anything
    assert _reported_at(svc, "compute-0-0") == at  # no write at all


def test_a_changed_report_is_one_change_of_that_host(svc, runtime):
    installer.report_partitions(runtime, _req(svc, "compute-0-0"), _report())
    before = _changes(svc)
    installer.report_partitions(runtime, _req(svc, "compute-0-0"), _report(root_gib=20))
    assert _changes(svc) == before + [-_host_id(svc, "compute-0-0")]
    assert partitions.list_partitions(svc, ["compute-0-0"])[0].size == f"{20 * GIB_S}s"
    # the disk header is part of the report: a new disk size alone is a change too
    layout = json.loads(_report(root_gib=20))
    layout["disks"]["sda"]["size"] = 200 * GIB_S
    installer.report_partitions(runtime, _req(svc, "compute-0-0"), json.dumps(layout))
    assert len(_changes(svc)) == len(before) + 2


def test_a_pending_reset_or_an_admin_edit_makes_the_same_report_write(svc, runtime):
    installer.report_partitions(runtime, _req(svc, "compute-0-0"), _report())
    partitions.set_reset(svc, ["compute-0-0"], True)
    installer.report_partitions(runtime, _req(svc, "compute-0-0"), _report())
    assert partitions.partition_states(svc, ["compute-0-0"]) == []  # the report used the reset up
    partitions.remove_partitions(svc, ["compute-0-0"], "/state/partition1")  # the admin drops a record
    installer.report_partitions(runtime, _req(svc, "compute-0-0"), _report())
    mounts = [p.mountpoint for p in partitions.list_partitions(svc, ["compute-0-0"])]
    assert mounts == ["/", "/state/partition1"]


def test_the_kickstart_after_a_report_reflects_it(svc, runtime):
    req = _req(svc, "compute-0-0")
    assert "/scratch" not in installer.kickstart(runtime, req, record=False)
    installer.report_partitions(runtime, req, _report(data_mount="/scratch"))
    assert "/scratch" in installer.kickstart(runtime, req, record=False)


def test_concurrent_reports_from_many_threads_all_land(svc, runtime):
    names = [f"compute-1-{k}" for k in range(24)]
    for k, name in enumerate(names):
        hosts.add_host(svc, HostRequest(name=name, mac=f"52:54:00:00:11:{k:02x}"))
    runtime.snapshot.sync(force=True)
    before = len(_changes(svc))
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def report(mine: list[str]) -> None:
        start.wait()
        for name in mine:
            try:
                installer.report_partitions(runtime, _req(svc, name), _report(root_gib=10 + int(name[10:])))
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=report, args=(names[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for name in names:  # each host exactly its own report
        assert partitions.list_partitions(svc, [name])[0].size == f"{(10 + int(name[10:])) * GIB_S}s"
    writes = runtime.partition_writes
    assert writes.items == len(names) and 1 <= writes.batches <= len(names)
    # partition-layout changes of exactly these hosts, none of "everything"
    assert sorted(_changes(svc)[before:]) == sorted(-_host_id(svc, name) for name in names)


def test_a_failing_report_in_a_batch_fails_alone(svc):
    """Three reports queue behind a held transaction and are committed together; one of them cannot be
    stored (a device twice: the unique constraint), so the batch is retried report by report."""
    ids = [_host_id(svc, n) for n in ("compute-0-0", "compute-0-1", "vm-container-0-0")]
    good = [partition_reports.prepare(h, partition_reports.parse_json(_report())) for h in ids[:2]]
    bad = partition_reports.prepare(ids[2], partition_reports.parse_json(_report()))
    bad.rows.append(dict(bad.rows[0]))
    entered, release = threading.Event(), threading.Event()

    def apply(session, items):  # type: ignore[no-untyped-def]
        if items == ["hold"]:
            entered.set()
            release.wait(30)
            return
        partition_reports.store_reports(session, items)

    writer = GroupCommit(svc.db, apply)
    outcome: dict[object, object] = {}

    def submit(key: object, item: object) -> None:
        try:
            writer.submit(item)
            outcome[key] = "ok"
        except Exception as exc:  # noqa: BLE001 - inspected below
            outcome[key] = exc

    holder = threading.Thread(target=submit, args=("hold", "hold"))
    holder.start()
    assert entered.wait(30)
    others = [threading.Thread(target=submit, args=(k, r)) for k, r in enumerate(good + [bad])]
    for t in others:
        t.start()
    while len(writer._queue) < 3:  # all three wait for the held transaction
        threading.Event().wait(0.01)
    release.set()
    for t in [holder] + others:
        t.join()
    assert outcome["hold"] == "ok" and outcome[0] == "ok" and outcome[1] == "ok"
    assert isinstance(outcome[2], DatabaseError)
    with svc.db.session() as session:
        stored = {h for h in ids if partition_reports.recorded_layout(session, h).disks}
    assert stored == set(ids[:2])  # the failed report left nothing behind
