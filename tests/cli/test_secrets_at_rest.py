"""Issue 9 item 3: the database and the secrets in it are readable only by their owner."""

from __future__ import annotations

import io
import json
import os
import stat

from ksserver.cli import run
from ksserver.config import load_settings


def _mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(os.stat(path).st_mode)


def test_state_dir_and_database_are_private_even_under_a_permissive_umask(tmp_path):
    settings = load_settings(environ={}, root=tmp_path / "state")
    old = os.umask(0)
    try:
        assert run(["init"], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
        assert run(["set", "attr", "x", "y"], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    finally:
        os.umask(old)
    root = tmp_path / "state"
    assert _mode(root) == 0o700
    for name in ("cluster.db", "cluster.db-wal", "cluster.db-shm", "admin-token"):
        if (root / name).exists():
            assert _mode(root / name) == 0o600, name
    assert (root / "cluster.db").exists()


def test_loose_database_file_is_tightened_when_opened(tmp_path):
    settings = load_settings(environ={}, root=tmp_path / "state")
    assert run(["init"], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    os.chmod(tmp_path / "state" / "cluster.db", 0o644)
    assert run(["list", "host"], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    assert _mode(tmp_path / "state" / "cluster.db") == 0o600


def test_secret_attributes_are_masked_unless_asked(cluster):
    listed = {a["attr"]: a["value"] for a in json.loads(cluster("list", "attr", "output-format=json").out)}
    assert listed["Kickstart_PrivateRootPassword"] == "********"
    assert listed["Kickstart_Timezone"] != "********"
    assert cluster("set", "host", "attr", "compute-0-0", "ipmi_password", "s3cret").code == 0
    host = cluster("list", "host", "attr", "compute-0-0").out
    assert "s3cret" not in host and "$6$" not in host
    assert "$6$" not in cluster("report", "host", "attr", "compute-0-0").out
    assert cluster("report", "host", "attr", "compute-0-0", "attr=ipmi_password").out == "s3cret\n"
    assert "s3cret" in cluster("list", "host", "attr", "compute-0-0", "secrets=yes").out
