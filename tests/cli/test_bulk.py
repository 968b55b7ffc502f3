"""rocks add host file=: all or nothing, allocation like single adds."""

from __future__ import annotations

import json


def test_bulk_add_from_csv(cluster, tmp_path):
    path = tmp_path / "hosts.csv"
    path.write_text("name,membership,rack,mac,ip,cpus\n"
                    "compute-5-0,,,52:54:00:05:00:00,,8\n"
                    ",compute,5,52:54:00:05:00:01,,\n"
                    ",NAS Appliance,0,,10.1.100.1,\n")
    result = cluster("add", "host", f"file={path}")
    assert result.code == 0, result
    assert result.out == "added 3 hosts\n"
    hosts = {h["host"]: h for h in json.loads(cluster("list", "host", "output-format=json").out)}
    assert hosts["compute-5-0"]["cpus"] == 8 and "compute-5-1" in hosts and "nas-0-0" in hosts
    ifaces = {i["host"]: i["ip"] for i in json.loads(cluster("list", "host", "interface", "output-format=json").out)}
    assert ifaces["compute-5-0"] == "10.1.255.251"  # continues below the fixture hosts
    assert ifaces["compute-5-1"] == "10.1.255.250"
    assert ifaces["nas-0-0"] == "10.1.100.1"


def test_bulk_add_from_json_and_errors_write_nothing(cluster, tmp_path):
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps([{"name": "compute-6-0", "mac": "52:54:00:06:00:00"},
                                {"name": "compute-6-1", "mac": "52:54:00:00:01:00"},  # compute-0-0's MAC
                                {"name": "compute-6-2", "ip": "10.9.0.1"}]))
    result = cluster("add", "host", f"file={path}")
    assert result.code == 1
    assert "row 2: MAC 52:54:00:00:01:00 is already used" in result.err
    assert "row 3: IP 10.9.0.1 is not inside network private" in result.err
    assert cluster("list", "host", "compute-6-0").code == 2
    path.write_text(json.dumps([{"name": "compute-6-0"}, {"name": "compute-6-1"}]))
    assert cluster("add", "host", f"file={path}").code == 0


def test_bulk_add_bad_files(cluster, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,colour\ncompute-7-0,blue\n")
    assert "unknown column(s) colour" in cluster("add", "host", f"file={bad}").err
    bad.write_text("[{\"name\": ")
    assert "bad JSON at line 1" in cluster("add", "host", f"file={bad}").err
    assert "cannot read" in cluster("add", "host", f"file={tmp_path}/missing.csv").err
