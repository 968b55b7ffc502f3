"""Concurrent `rocks add host vm` on one container: unique slices, names, MACs and IPs."""

from __future__ import annotations

import json

from tests.parallel import run_in_parallel

PROCESSES = 4
VMS_EACH = 3


def test_parallel_add_host_vm(cluster, settings, tmp_path):
    assert cluster("add", "host", "partition", "vm-container-0-0", "device=sda5",
                   f"mountpoint={tmp_path}/state/partition1", "size=500GB").code == 0
    failures = run_in_parallel(settings, ["add", "host", "vm", "vm-container-0-0", "membership=Compute"],
                               PROCESSES, VMS_EACH)
    assert not failures, failures
    vms = json.loads(cluster("list", "host", "vm", "status=no", "output-format=json").out)
    assert len(vms) == PROCESSES * VMS_EACH
    assert sorted(v["slice"] for v in vms) == list(range(PROCESSES * VMS_EACH))
    assert len({v["mac"] for v in vms}) == len(vms) and len({v["vm-host"] for v in vms}) == len(vms)
    ips = [i["ip"] for i in json.loads(cluster("list", "host", "interface", "output-format=json").out) if i["ip"]]
    assert len(ips) == len(set(ips))
