"""The bundle the first %pre fetches, the kickstart sections, and the simulator's isolation."""

from __future__ import annotations

import io
import json
import tarfile

from installer_plugin import bundle, kickstart
from tests.installer_plugin.sim import Simulator


def test_bundle_is_reproducible_and_holds_both_packages_and_the_shim(tmp_path):
    first = bundle.build(tmp_path / "a").read_bytes()
    assert bundle.build(tmp_path / "b").read_bytes() == first
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        names = tar.getnames()
        shim = tar.getmember(bundle.SHIM_PATH)
        assert shim.mode == 0o755 and b"PYTHONPATH=/tmp/product" in tar.extractfile(shim).read()
    assert "rocks_partition/records.py" in names and "installer_plugin/decide.py" in names
    assert not any(n.startswith(("ksserver", "tests")) for n in names)


def test_kickstart_sections_carry_arguments_as_literals():
    pre = kickstart.decide_pre("http://10.1.1.1", "t'ok\"en")
    assert pre.startswith("%pre --erroronfail --interpreter=/opt/rocks/bin/python\n")
    args = json.loads(pre.split("main(", 1)[1].rsplit("))", 1)[0])
    assert args == ["pre-decide", "--server", "http://10.1.1.1", "--token", "t'ok\"en"]
    db = kickstart.db_info_pre('{"disks": {}, "reset": true}')
    assert "\n{\"disks\": {}, \"reset\": true}\nROCKS_DB_EOF\n" in db
    assert kickstart.report_post().startswith("%post --nochroot --interpreter=/opt/rocks/bin/python\n")


def test_simulator_scripts_see_only_the_image_disks_and_private_dirs(tmp_path, make_disk):
    sim = Simulator(tmp_path / "sandbox", {"sda": make_disk("sda", 1)})
    sim._fresh_sandbox()
    probe_script = tmp_path / "sandbox/tmp/look.sh"
    probe_script.write_text("ls /dev | tr '\\n' ' '; echo; ls -A /opt; touch /tmp/mine /opt/mine; "
                            "stat -c %s /dev/sda; env -u ROCKS_PARTITION_DEVICES python3 -c "
                            "'from rocks_partition import probe; print(list(probe.disk_paths()))'\n")
    (tmp_path / "sandbox/opt/rocks").mkdir()
    rc, out = sim.run("/bin/sh", "/tmp/look.sh")
    assert rc == 0, out
    lines = out.splitlines()
    devs = lines[0].split()
    assert "sda" in devs and "null" in devs and not any(d.startswith(("vd", "nvme", "sdb")) for d in devs)
    assert lines[1] == "rocks"
    assert lines[2] == str(1 << 30)
    # real discovery (no device map) inside the namespace: the host's disks are not there to find
    assert lines[3] == "[]"
    assert (tmp_path / "sandbox/tmp/mine").exists() and (tmp_path / "sandbox/opt/mine").exists()


def test_pre_decide_stops_on_a_corrupt_server_record(tmp_path, capsys, monkeypatch):
    from installer_plugin import cli
    from installer_plugin.cli import main
    monkeypatch.setattr(cli, "CONSOLE", str(tmp_path / "console"))
    db = tmp_path / "db.json"
    db.write_text('{"disks": {"sda": {"partitions": [{"device": "sda1", "size": "16.8GB"}]}}}')
    out = tmp_path / "partition-info"
    rc = main(["pre-decide", "--db-info", str(db), "--user-info", str(tmp_path / "none"), "--out", str(out),
               "--plan", str(tmp_path / "plan")])
    assert rc == 1 and out.read_text() == ""
    assert "disks.sda.partitions[0].size" in capsys.readouterr().err
    assert "partitioning stopped" in (tmp_path / "console").read_text()
