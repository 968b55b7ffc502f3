"""A storm of partition reports against the real server (`ksserver serve`, two workers): every report lands,
each host's from its own address on a provisioning network; an identical re-report writes no change row;
the kickstart served afterwards carries the reported layout."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from ksserver.db.models import Change
from ksserver.db.session import Database
from tests.web.test_serve_http import running_server

pytestmark = pytest.mark.timeout(300)

GIB_S = 2 * 1024 * 1024
HOSTS = 32


def _ip(k: int) -> str:
    return f"127.0.6.{10 + k}"


def _layout(k: int, mount: str = "/state/partition1") -> bytes:
    return json.dumps({"version": 1, "disks": {"sda": {"size": 100 * GIB_S, "label": "gpt", "partitions": [
        {"device": "sda1", "start": 2048, "size": (8 + k) * GIB_S, "fstype": "xfs", "mountpoint": "/"},
        {"device": "sda5", "start": 2048 + (8 + k) * GIB_S, "size": GIB_S, "fstype": "xfs",
         "mountpoint": mount}]}}}).encode()


def _post(base: str, k: int, body: bytes) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(_ip(k), 0))
    try:  # one connection per report, from the host's own address, as an installer does
        conn.request("POST", "/install/sbin/public/partitions", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _kickstart(base: str, k: int) -> str:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(_ip(k), 0))
    try:
        conn.request("GET", "/install/sbin/kickstart.cgi?arch=x86_64&np=1")
        response = conn.getresponse()
        assert response.status == 200
        return response.read().decode()
    finally:
        conn.close()


def _changes(settings) -> list[int | None]:  # type: ignore[no-untyped-def]
    db = Database.from_url(settings.effective_database_url)
    try:
        with db.session() as session:
            return list(session.scalars(select(Change.host_id).order_by(Change.seq)))
    finally:
        db.dispose()


@pytest.fixture
def storm_cluster(cluster, tmp_path):
    assert cluster("add", "network", "stormnet", "subnet=127.0.6.0", "netmask=255.255.255.0",
                   "provisioning=yes").code == 0
    rows = "\n".join(f"compute-2-{k},52:54:00:00:22:{k:02x}" for k in range(HOSTS))
    (tmp_path / "hosts.csv").write_text("name,mac\n" + rows + "\n")
    assert cluster("add", "host", f"file={tmp_path / 'hosts.csv'}").code == 0
    for k in range(HOSTS):
        assert cluster("add", "host", "interface", f"compute-2-{k}", "eth1", "subnet=stormnet",
                       f"ip={_ip(k)}", f"mac=52:54:00:00:23:{k:02x}").code == 0
    return cluster


def _storm(base: str, bodies: dict[int, bytes]) -> list[tuple[int, bytes]]:
    start = threading.Barrier(16)

    def one(k: int) -> tuple[int, bytes]:
        if k < 16:
            start.wait(30)  # the first sixteen leave together
        return _post(base, k, bodies[k])

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, sorted(bodies)))


def test_concurrent_reports_all_land_and_an_identical_storm_writes_nothing(storm_cluster, settings):
    with running_server(settings) as base:
        answers = _storm(base, {k: _layout(k) for k in range(HOSTS)})
        assert [status for status, _ in answers] == [200] * HOSTS, answers
        assert [json.loads(body)["host"] for _, body in answers] == [f"compute-2-{k}" for k in range(HOSTS)]
        for k in range(HOSTS):
            rows = json.loads(storm_cluster("list", "host", "partition", f"compute-2-{k}",
                                            "output-format=json").out)
            assert [(r["device"], r["size"]) for r in rows] == [("sda1", f"{(8 + k) * GIB_S}s"),
                                                                ("sda5", f"{GIB_S}s")]
        before = _changes(settings)
        again = _storm(base, {k: _layout(k) for k in range(HOSTS)})
        assert [status for status, _ in again] == [200] * HOSTS
        assert _changes(settings) == before  # nothing changed: no server reloads anything
        # a changed layout is served in the next kickstart, whichever worker answers (and had cached the old)
        for _ in range(4):
            assert "/scratch" not in _kickstart(base, 3)
        assert _post(base, 3, _layout(3, mount="/scratch"))[0] == 200
        for _ in range(4):
            assert "/scratch" in _kickstart(base, 3)
