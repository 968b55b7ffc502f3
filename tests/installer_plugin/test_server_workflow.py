"""The seed's partitioning workflow end to end against a running `ksserver serve` (gunicorn on loopback):
the installer simulator fetches its kickstart over HTTP with an install token, fetches the plugin bundle
that `rocks-dist dist` published, runs every %pre for real on disk-image files, and reports back. Each
`rocks report host partition` is checked against the install that follows it."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request

import pytest
from sqlalchemy import insert

from ksserver.db.models import InstallToken
from ksserver.inventory.requester import hash_token
from ksserver.services import Cluster
from tests.installer_plugin.conftest import SITE_PROFILES
from tests.installer_plugin.sim import fingerprints, get_file, partitions, put_file, remove_file
from tests.web.test_serve_http import running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TOKEN = "install-token-compute-0-0"


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def _token(settings) -> None:  # type: ignore[no-untyped-def]
    """An install token bound to compute-0-0, as the token issuance stores it (hashed)."""
    from ksserver.db.session import Database
    from ksserver.inventory import hosts

    db = Database.from_url(settings.effective_database_url)
    try:
        with db.session(write=True) as session:
            host_id = hosts.get_host(session, "compute-0-0").id
            session.execute(insert(InstallToken), [{"host_id": host_id, "token_hash": hash_token(TOKEN),
                                                    "expires_at": time.time() + 3600, "revoked": False}])
    finally:
        db.dispose()


def _kickstart(url: str) -> str:
    request = urllib.request.Request(f"{url}/install/sbin/kickstart.cgi?token={TOKEN}&arch=x86_64&np=2",
                                     headers={"X-Anaconda-Architecture": "x86_64",
                                              "X-RHN-Provisioning-MAC-0": "eth0 52:54:00:00:01:00"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode()


def _rows(cluster) -> list[dict]:  # type: ignore[no-untyped-def]
    result = cluster("list", "host", "partition", "compute-0-0", "output-format=json")
    assert result.code == 0, result
    return json.loads(result.out)


def _report(cluster) -> str:  # type: ignore[no-untyped-def]
    result = cluster("report", "host", "partition", "compute-0-0")
    assert result.code == 0, result
    return result.out


def test_seed_workflow_against_a_running_server(cluster, settings, make_disk, sim):
    # the admin's replace-partition.xml: the Rocks 5.0 talk's one-disk program, then rocks-dist dist
    (settings.site_profile_dir / "nodes").mkdir(parents=True, exist_ok=True)
    shutil.copy(SITE_PROFILES / "variants/replace-partition-talk-disk.xml",
                settings.site_profile_dir / "nodes/replace-partition.xml")
    assert cluster("create", "distro").code == 0
    _token(settings)
    sda = make_disk("sda")
    s = sim({"sda": sda})
    with running_server(settings) as url:
        ks = _kickstart(url)
        assert ks.index("rocks-installer-plugin.tar.gz") < ks.index("/tmp/db_partition_info.json") \
            < ks.index("def doDisk") < ks.index('"pre-decide"') < ks.index('"post-report"')
        assert f'"--token", "{TOKEN}"' in ks and "%include /tmp/partition-info" in ks

        # 1. first install: nothing recorded, so no preview; the talk's layout on a blank disk
        assert cluster("report", "host", "partition", "compute-0-0").code != 0
        first = s.install(ks)
        assert not first.stopped and not first.kept, first.log()
        assert first.created == {"sda1": "/", "sda2": "/var", "sda3": "swap", "sda4": "/mydata"}
        rows = {r["device"]: r for r in _rows(cluster) if r["device"]}
        assert rows["sda4"]["mountpoint"] == "/mydata" and rows["sda4"]["type"] == "ext3"
        assert rows["sda1"]["start"].endswith("s")

        # 2. user data, then the plan the next install follows, then that install: data kept
        put_file(sda, "sda4", "precious.txt", "user data")
        plan = _report(cluster)
        assert "keep /mydata on sda4" in plan and "format / on sda1" in plan
        assert "refuse clearpart --all --initlabel --drives=sda" in plan  # the program's directives
        before = fingerprints([sda])
        second = s.install(_kickstart(url))
        assert second.kept == {"sda3": "swap", "sda4": "/mydata"}, second.log()
        assert second.formatted == {"sda1": "ext3", "sda2": "ext3"}
        for line in plan.splitlines():
            if line.startswith(("keep ", "format ")):
                assert line in second.plan, (line, second.plan)
        assert before["sda4"] == fingerprints([sda])["sda4"]
        assert get_file(sda, "sda4", "precious.txt") == "user data"
        # Rocks ignored the refused directives silently; here the admin sees them
        status = [r for r in _rows(cluster) if not r["device"]]
        assert status and "user directive not applied" in status[0]["plan"], _rows(cluster)

        # 3. the seed's repartition: remove the records and the markers; the preview shows the new layout
        assert cluster("remove", "host", "partition", "compute-0-0").code == 0
        for device, part in partitions(sda).items():
            if part["fstype"].startswith(("ext", "xfs")):
                remove_file(sda, device, ".rocks-release")
        plan = _report(cluster)
        assert "keep " not in plan and "create part /mydata --size=1 --grow --fstype=ext3 --ondisk=sda" in plan
        third = s.install(_kickstart(url))
        assert not third.kept and set(third.formatted) == {"sda1", "sda2", "sda3", "sda4"}, third.log()
        assert get_file(sda, "sda4", "precious.txt") is None

        # 4. the one-shot reset: shown, previewed, used by the next install, then cleared
        put_file(sda, "sda4", "precious.txt", "more data")
        assert cluster("set", "host", "partition", "compute-0-0", "reset=yes").code == 0
        assert any(r["status"] == "reset pending" for r in _rows(cluster))
        plan = _report(cluster)
        assert "reset markers and recorded layouts" in plan and "keep " not in plan
        fourth = s.install(_kickstart(url))
        assert not fourth.kept and set(fourth.formatted) == {"sda1", "sda2", "sda3", "sda4"}, fourth.log()
        assert not any(r["status"] for r in _rows(cluster))
        assert "keep /mydata on sda4" in _report(cluster)  # back to keeping

        # 5. a record that no longer matches the disk: the preview and the install stop, nothing is formatted,
        # and the admin sees why
        assert cluster("add", "host", "partition", "compute-0-0", "device=sda9", "mountpoint=/scratch",
                       "start=999999999s", "size=2048s", "fstype=xfs").code == 0
        assert "STOP: sda: the recorded layout does not match the disk (sda9 is missing)" in _report(cluster)
        before = fingerprints([sda])
        fifth = s.install(_kickstart(url))
        assert fifth.stopped and not fifth.formatted and fingerprints([sda]) == before, fifth.log()
        status = [r for r in _rows(cluster) if not r["device"]]
        assert status[0]["plan"].startswith("STOP: sda: the recorded layout does not match"), status


def test_report_runs_programs_sandboxed_without_network(cluster, settings, tmp_path):
    """A %pre that tries the network and the disks sees no network, only the reported disks, as nobody."""
    from ksserver.db.session import Database
    from ksserver.services import partitions

    (settings.site_profile_dir / "nodes").mkdir(parents=True, exist_ok=True)
    (settings.site_profile_dir / "nodes/replace-partition.xml").write_text(
        '<?xml version="1.0"?>\n<kickstart>\n<pre arg="--interpreter /opt/rocks/bin/python">\n'
        "import os, socket, rocks_partition\n"
        "disks = rocks_partition.RocksPartition().getDisks()\n"
        "s = socket.socket()\n"
        "try:\n    s.connect(('127.0.0.1', 22)); net = 'net'\nexcept OSError:\n    net = 'nonet'\n"
        "open('/tmp/user_partition_info', 'w').write('# %s %s uid=%d\\n' % (net, ','.join(disks), os.getuid()))\n"
        "</pre>\n</kickstart>\n")
    assert cluster("create", "distro").code == 0
    db = Database.from_url(settings.effective_database_url)
    svc = Cluster(settings, db)
    try:
        with db.session(write=True) as session:
            from ksserver.inventory import hosts, partition_reports
            from rocks_partition.records import parse_report_json

            layout = parse_report_json(json.dumps({"disks": {"vdq": {"size": 1 << 25, "partitions": [
                {"device": "vdq1", "start": 2048, "size": 1 << 24, "fstype": "xfs", "mountpoint": "/data"}]}}}))
            partition_reports.store_report(session, hosts.get_host(session, "compute-0-0").id, layout)
        preview = partitions.report_plan(svc, "compute-0-0", timeout=20)
        assert preview.user_info.startswith("# nonet vdq uid="), preview.log
        if os.geteuid() == 0:
            assert "uid=0" not in preview.user_info  # dropped to the sandbox user
        # the decision sees the recorded /data as kept and no room for /: the preview shows the stop
        assert preview.plan.explain().startswith("STOP: no disk can hold /")
    finally:
        db.dispose()


def test_report_stops_a_runaway_program(cluster, settings):
    from ksserver.db.session import Database
    from ksserver.inventory import hosts, partition_reports
    from ksserver.partition_preview import PreviewFailed
    from ksserver.services import partitions
    from rocks_partition.records import parse_report_json

    (settings.site_profile_dir / "nodes").mkdir(parents=True, exist_ok=True)
    (settings.site_profile_dir / "nodes/replace-partition.xml").write_text(
        '<?xml version="1.0"?>\n<kickstart>\n<pre>\nwhile :; do :; done\n</pre>\n</kickstart>\n')
    assert cluster("create", "distro").code == 0
    db = Database.from_url(settings.effective_database_url)
    try:
        with db.session(write=True) as session:
            layout = parse_report_json(json.dumps({"disks": {"sda": {"size": 1 << 25, "partitions": []}}}))
            partition_reports.store_report(session, hosts.get_host(session, "compute-0-0").id, layout)
        with pytest.raises(PreviewFailed, match="ran longer than 1 s"):
            partitions.report_plan(Cluster(settings, db), "compute-0-0", timeout=1)
    finally:
        db.dispose()


def test_raid_program_round_trips_through_the_server(cluster, settings, make_disk, sim):
    """The talk's doRaid on two disks: the array's level and members go into the database and come back in
    the next kickstart, so the reinstall keeps the mirror (and the preview says so first)."""
    (settings.site_profile_dir / "nodes").mkdir(parents=True, exist_ok=True)
    shutil.copy(SITE_PROFILES / "variants/replace-partition-talk-raid.xml",
                settings.site_profile_dir / "nodes/replace-partition.xml")
    assert cluster("create", "distro").code == 0
    _token(settings)
    sda, sdb = make_disk("sda"), make_disk("sdb", 8)
    s = sim({"sda": sda, "sdb": sdb})
    with running_server(settings) as url:
        first = s.install(_kickstart(url))
        assert first.raids["md0"]["members"] == ["sda3", "sdb1"], first.log()
        rows = {r["device"]: r for r in _rows(cluster) if r["device"]}
        assert (rows["md0"]["mountpoint"], rows["md0"]["flags"], rows["md0"]["formatflags"]) == (
            "/bigdisk", "sda3 sdb1", "--level=1")
        plan = _report(cluster)
        assert "keep /bigdisk on md0 (software RAID, database record)" in plan, plan
        before = fingerprints([sda, sdb])
        second = s.install(_kickstart(url))
        assert "raid /bigdisk --device=md0 --useexisting --noformat --level=1" in second.partition_info
        assert second.kept.get("sda3") == "raid.sda3" and second.kept.get("sdb1") == "raid.sdb1", second.log()
        after = fingerprints([sda, sdb])
        assert before["sda3"] == after["sda3"] and before["sdb1"] == after["sdb1"]
        for line in plan.splitlines():
            if line.startswith(("keep ", "format ")):
                assert line in second.plan, (line, second.plan)
        # the kept array is reported again with its members, so the install after that keeps it too
        assert second.report["raids"]["md0"]["members"] == ["sda3", "sdb1"]
        assert "keep /bigdisk on md0" in s.install(_kickstart(url)).plan
