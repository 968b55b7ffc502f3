"""Installers report their partitions: JSON and Rocks' header; only for themselves; never evaluated."""

from __future__ import annotations

import json

import pytest

from ksserver.web import create_app

C00_IP, C01_IP = "10.1.255.254", "10.1.255.253"
GIB_S = 2 * 1024 * 1024  # sectors of 512 bytes in a GiB


def _part(device, start, size, fstype, mountpoint, **extra):  # type: ignore[no-untyped-def]
    return {"device": device, "start": start, "size": size, "fstype": fstype, "mountpoint": mountpoint, **extra}


# rocks_partition.records JSON (Layout.to_json): sizes in sectors, an empty disk kept.
LAYOUT = {"version": 1, "disks": {
    "sda": {"size": 1000 * GIB_S, "label": "gpt", "partitions": [
        _part("sda1", 2048, 16 * GIB_S, "xfs", "/", flags=["boot"]),
        _part("sda2", 2048 + 16 * GIB_S, 4 * GIB_S, "xfs", "/var"),
        _part("sda3", 2048 + 20 * GIB_S, GIB_S, "swap", "swap"),
        _part("sda5", 2048 + 21 * GIB_S, 900 * GIB_S, "xfs", "/state/partition1")]},
    "sdb": {"size": 100 * GIB_S, "label": "", "partitions": []}}}


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
    assert response.get_json() == {"host": "compute-0-0", "partitions": 5}
    rows = _rows(cluster, "compute-0-0")
    # Rocks' columns: exact sector strings; the empty disk is recorded as Rocks' '<disk>,,,,,,,'
    assert [(r["device"], r["mountpoint"], r["start"], r["size"], r["type"], r["flags"]) for r in rows] == [
        ("sda1", "/", "2048s", "33554432s", "xfs", "boot"), ("sda2", "/var", "33556480s", "8388608s", "xfs", ""),
        ("sda3", "swap", "41945088s", "2097152s", "swap", ""),
        ("sda5", "/state/partition1", "44042240s", "1887436800s", "xfs", ""), ("sdb", "", "", "", "", "")]


def test_rocks_header_report(cluster, client):
    header = ("{'sda': [('sda1','32.3kB','16.8GB','','ext3','boot','','/'), "
              "('sda5','22.0GB','10.2GB','','ext3','','','/state/partition1')], 'sdb': [('sdb','','','','','','','')]}")
    response = client.get("/install/sbin/public/setDbPartitions.cgi", headers={"X-Rocks-PartitionInfo": header},
                          environ_base={"REMOTE_ADDR": C01_IP})
    assert response.status_code == 200
    # sizes are parted's rounded strings here, converted to sectors; the empty disk sdb is kept
    assert [(r["device"], r["size"]) for r in _rows(cluster, "compute-0-1")] == [
        ("sda1", "32812500s"), ("sda5", "19921875s"), ("sdb", "")]


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
    cluster("add", "host", "partition", "compute-0-0", "device=sdz9", "mountpoint=/old", "size=1GB")

    def disk(*parts):  # type: ignore[no-untyped-def]
        return {"disks": {"sda": {"partitions": list(parts)}}}

    bad = [disk({"device": "../../etc", "mountpoint": "/"}),
           disk({"device": "sda1", "mountpoint": "/x", "colour": "red"}),
           disk({"device": "sda1", "size": "lots"}),
           disk({"device": "sda1", "size": -5}),
           disk({"device": "sda1"}, {"device": "sda1"}),
           disk({"device": "sda1", "fstype": "ext4\nrootpw x"}),
           disk({"device": "sda1", "mountpoint": "/x\n%post"}),
           {"version": 2, "disks": {}},
           {"disks": {"sda": [{"device": "sda1"}]}},  # the old string format: refused, not half-read
           ["not", "an", "object"]]
    for body in bad:
        response = client.post("/install/sbin/public/partitions", json=body, environ_base={"REMOTE_ADDR": C00_IP})
        assert response.status_code == 400, body
        assert "partition report" in response.get_data(as_text=True)
    # nothing changed by any of them
    assert [(r["device"], r["mountpoint"]) for r in _rows(cluster, "compute-0-0")] == [("sdz9", "/old")]
    assert client.post("/install/sbin/public/partitions", data=b"x" * 300_000,
                       environ_base={"REMOTE_ADDR": C00_IP}).status_code == 413


def _kickstart(client, **kw):  # type: ignore[no-untyped-def]
    response = client.get("/install/sbin/kickstart.cgi", environ_base={"REMOTE_ADDR": C00_IP}, **kw)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def _db_info(text: str) -> dict:
    lines = text.splitlines()
    return json.loads(lines[lines.index("cat > /tmp/db_partition_info.json << 'ROCKS_DB_EOF'") + 1])


def test_kickstart_carries_the_plugin_sections_and_the_recorded_layout(cluster, client):
    from tests.ksvalidate import assert_valid_kickstart

    text = _kickstart(client)
    assert_valid_kickstart(text)
    order = ["http://localhost/install/rocks-dist/x86_64/rocks-installer-plugin.tar.gz",
             "/tmp/db_partition_info.json", "/tmp/user_partition_info",
             'main(["pre-decide", "--server", "http://localhost"])', '"post-report", "--server", "http://localhost"']
    assert [text.index(o) for o in order] == sorted(text.index(o) for o in order), text
    assert "\n%include /tmp/partition-info\n" in text  # in the main section, read after every %pre ran
    assert "clearpart" not in text  # the old do-partition shell cleared the first disk at every install
    assert _db_info(text) == {"disks": {}, "raids": {}, "reset": False, "version": 1}
    client.post("/install/sbin/public/partitions", json=LAYOUT, environ_base={"REMOTE_ADDR": C00_IP})
    recorded = _db_info(_kickstart(client))
    assert recorded["disks"]["sda"]["partitions"][3]["mountpoint"] == "/state/partition1"
    assert recorded["disks"]["sdb"] == {"label": "", "partitions": [], "sector_size": 512, "size": 100 * GIB_S}
    # a Host header that is not a host name is not put into the kickstart: the frontend's name is used
    text = _kickstart(client, headers={"Host": "x\"]);import os;os.system('id')#"})
    assert "os.system" not in text and "--server" in text


def test_one_shot_reset_is_shown_handed_out_once_and_cleared_by_the_report(cluster, client):
    assert cluster("set", "host", "partition", "compute-0-0", "reset=maybe").code != 0
    assert cluster("set", "host", "partition", "compute-0-0", "reset=yes").code == 0
    assert [r["status"] for r in _rows(cluster, "compute-0-0")] == ["reset pending"]
    assert _db_info(_kickstart(client))["reset"] is True
    assert _db_info(_kickstart(client))["reset"] is True  # a retried fetch still gets it
    client.post("/install/sbin/public/partitions", json=LAYOUT, environ_base={"REMOTE_ADDR": C00_IP})
    assert _db_info(_kickstart(client))["reset"] is False
    assert all(r["status"] == "" for r in _rows(cluster, "compute-0-0"))


def test_partition_plan_is_stored_for_the_admin_until_the_next_install(cluster, client):
    plan = {"plan": {"stop": "sda: the recorded layout does not match the disk", "steps": []},
            "text": "STOP: sda: the recorded layout does not match the disk\n"}
    url = "/install/sbin/public/partition-plan"
    assert client.post(url, json=plan, environ_base={"REMOTE_ADDR": "10.1.0.99"}).status_code == 403
    for bad in ({"plan": "x"}, {"plan": {}, "text": 3}, {"plan": {}, "extra": 1}, ["plan"]):
        assert client.post(url, json=bad, environ_base={"REMOTE_ADDR": C00_IP}).status_code == 400, bad
    assert _rows(cluster, "compute-0-0") == []
    response = client.post(url, json=plan, environ_base={"REMOTE_ADDR": C00_IP})
    assert response.get_json() == {"host": "compute-0-0"}
    rows = _rows(cluster, "compute-0-0")
    assert rows[0]["plan"] == "STOP: sda: the recorded layout does not match the disk"
    assert "STOP: sda" in cluster("list", "host", "partition").out
    _kickstart(client)  # the next install starts: the old plan is history
    assert _rows(cluster, "compute-0-0") == []
