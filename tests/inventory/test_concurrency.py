"""Concurrent `rocks add host` never hands out the same name or IP (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from tests.parallel import run_in_parallel

PROCESSES = 4
HOSTS_EACH = 5


def test_parallel_add_host_allocates_unique_names_and_ips(cluster, settings):
    failures = run_in_parallel(settings, ["add", "host", "membership=compute", "rack=1", "ip=auto"],
                               PROCESSES, HOSTS_EACH)
    assert not failures, failures
    ifaces = json.loads(cluster("list", "host", "interface", "output-format=json").out)
    rack1 = [i for i in ifaces if i["host"].startswith("compute-1-")]
    assert len(rack1) == PROCESSES * HOSTS_EACH
    assert len({i["host"] for i in rack1}) == len(rack1)
    ips = [i["ip"] for i in ifaces]
    assert len(set(ips)) == len(ips)
    assert sorted(i["host"] for i in rack1) == sorted(f"compute-1-{n}" for n in range(len(rack1)))
