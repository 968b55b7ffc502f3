"""Concurrent `rocks add host` never hands out the same name or IP (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import multiprocessing

from ksserver.cli import run

PROCESSES = 4
HOSTS_EACH = 5


def _add_hosts(settings, barrier, results):  # type: ignore[no-untyped-def]
    barrier.wait(timeout=60)
    codes = []
    for _ in range(HOSTS_EACH):
        err = io.StringIO()
        codes.append((run(["add", "host", "membership=compute", "rack=1", "ip=auto"], settings=settings,
                          out=io.StringIO(), err=err), err.getvalue()))
    results.put(codes)


def test_parallel_add_host_allocates_unique_names_and_ips(cluster, settings):
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_add_hosts, args=(settings, barrier, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    failures = [err for codes in outcomes for code, err in codes if code != 0]
    assert not failures, failures
    ifaces = json.loads(cluster("list", "host", "interface", "output-format=json").out)
    rack1 = [i for i in ifaces if i["host"].startswith("compute-1-")]
    assert len(rack1) == PROCESSES * HOSTS_EACH
    assert len({i["host"] for i in rack1}) == len(rack1)
    ips = [i["ip"] for i in ifaces]
    assert len(set(ips)) == len(ips)
    assert sorted(i["host"] for i in rack1) == sorted(f"compute-1-{n}" for n in range(len(rack1)))
