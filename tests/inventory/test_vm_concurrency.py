"""Concurrent `rocks add host vm` on one container: unique slices, names, MACs and IPs."""

from __future__ import annotations

import io
import json
import multiprocessing

from ksserver.cli import run

PROCESSES = 4
VMS_EACH = 3


def _add_vms(settings, barrier, results):  # type: ignore[no-untyped-def]
    barrier.wait(timeout=60)
    outcomes = []
    for _ in range(VMS_EACH):
        err = io.StringIO()
        code = run(["add", "host", "vm", "vm-container-0-0", "membership=Compute"], settings=settings,
                   out=io.StringIO(), err=err)
        outcomes.append((code, err.getvalue()))
    results.put(outcomes)


def test_parallel_add_host_vm(cluster, settings, tmp_path):
    assert cluster("add", "host", "partition", "vm-container-0-0", "device=sda5",
                   f"mountpoint={tmp_path}/state/partition1", "size=500GB").code == 0
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_add_vms, args=(settings, barrier, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert not [err for batch in outcomes for code, err in batch if code != 0]
    vms = json.loads(cluster("list", "host", "vm", "status=no", "output-format=json").out)
    assert len(vms) == PROCESSES * VMS_EACH
    assert sorted(v["slice"] for v in vms) == list(range(PROCESSES * VMS_EACH))
    assert len({v["mac"] for v in vms}) == len(vms) and len({v["vm-host"] for v in vms}) == len(vms)
    ips = [i["ip"] for i in json.loads(cluster("list", "host", "interface", "output-format=json").out) if i["ip"]]
    assert len(ips) == len(set(ips))
