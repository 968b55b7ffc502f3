"""Installers report their partitions: JSON and Rocks' header; only for themselves; never evaluated."""

from __future__ import annotations

import json

import pytest

from ksserver.web import create_app

C00_IP, C01_IP = "10.1.255.254", "10.1.255.253"
LAYOUT = {"disks": {"sda": [
    {"device": "sda1", "start": "1049kB", "size": "16.8GB", "fstype": "xfs", "flags": "boot", "mountpoint": "/"},
    {"device": "sda2", "size": "4GB", "fstype": "xfs", "mountpoint": "/var"},
    {"device": "sda3", "size": "1GB", "fstype": "linux-swap", "mountpoint": "swap"},
    {"device": "sda5", "size": "900GB", "fstype": "xfs", "mountpoint": "/state/partition1"}]}}


@pytest.fixture
def client(cluster, settings):
    app = create_app(settings)
    yield app.test_client()
    app.extensions["ksserver"].db.dispose()


def _rows(cluster, host):  # type: ignore[no-untyped-def]
    return json.loads(cluster("list", "host", "partition", host, "output-format=json").out)


def test_json_report_replaces_the_layout(cluster, client):
    cluster("add", "host", "partition", "compute-0-0", "device=sdz9", "mountpoint=/old", "size=1GB")
    response = client.post("/install/sbin/public/partitions", json=LAYOUT, environ_base={"REMOTE_ADDR": C00_IP})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"host": "compute-0-0", "partitions": 4}
    rows = _rows(cluster, "compute-0-0")
    assert [(r["device"], r["mountpoint"], r["size"]) for r in rows] == [
        ("sda1", "/", "16.8GB"), ("sda2", "/var", "4GB"), ("sda3", "swap", "1GB"),
        ("sda5", "/state/partition1", "900GB")]


def test_rocks_header_report(cluster, client):
    header = ("{'sda': [('sda1','32.3kB','16.8GB','','ext3','boot','','/'), "
              "('sda5','22.0GB','10.2GB','','ext3','','','/state/partition1')], 'sdb': [('sdb','','','','','','','')]}")
    response = client.get("/install/sbin/public/setDbPartitions.cgi", headers={"X-Rocks-PartitionInfo": header},
                          environ_base={"REMOTE_ADDR": C01_IP})
    assert response.status_code == 200
    assert [r["device"] for r in _rows(cluster, "compute-0-1")] == ["sda1", "sda5"]


def test_reports_are_only_for_yourself_and_never_evaluated(cluster, client):
    spoof = client.post("/install/sbin/public/partitions", json=LAYOUT, environ_base={"REMOTE_ADDR": C01_IP},
                        headers={"X-RHN-Provisioning-MAC-0": "eth0 52:54:00:00:01:00"})
    assert spoof.status_code == 403
    assert client.post("/install/sbin/public/partitions?client=compute-0-0", json=LAYOUT,
                       environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 400
    assert client.post("/install/sbin/public/partitions", json=LAYOUT,
                       environ_base={"REMOTE_ADDR": "10.1.0.99"}).status_code == 403
    attack = "__import__('os').system('touch /tmp/ksserver-pwned')"
    response = client.get("/install/sbin/public/setDbPartitions.cgi", headers={"X-Rocks-PartitionInfo": attack},
                          environ_base={"REMOTE_ADDR": C00_IP})
    assert response.status_code == 400 and "not a literal" in response.get_data(as_text=True)
    bad = [{"disks": {"sda": [{"device": "../../etc", "mountpoint": "/"}]}},
           {"disks": {"sda": [{"device": "sda1", "mountpoint": "/x", "colour": "red"}]}},
           {"disks": {"sda": [{"device": "sda1", "size": "lots"}]}},
           {"disks": {"sda": [{"device": "sda1"}, {"device": "sda1"}]}},
           {"disks": {"sda": [{"device": "sda1", "fstype": "ext4\nrootpw x"}]}},
           ["not", "an", "object"]]
    for body in bad:
        response = client.post("/install/sbin/public/partitions", json=body, environ_base={"REMOTE_ADDR": C00_IP})
        assert response.status_code == 400, body
    assert _rows(cluster, "compute-0-0") == []
    assert client.post("/install/sbin/public/partitions", data=b"x" * 300_000,
                       environ_base={"REMOTE_ADDR": C00_IP}).status_code == 413
