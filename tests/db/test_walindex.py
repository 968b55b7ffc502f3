"""The wal-index header stands in for a read of the change log only while nothing was committed: every
commit, from this process or another, changes it, and a reader then goes to the database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from ksserver.db.session import Database, make_engine
from ksserver.db.walindex import HEADER_BYTES, WalIndexHeader
from ksserver.inventory.snapshot import InventorySnapshot


def _commit_elsewhere(path: str, value: int) -> None:
    subprocess.run([sys.executable, "-c",
                    "import sqlite3, sys\n"
                    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                    "c.execute('INSERT INTO t VALUES (?)', (int(sys.argv[2]),))\n"
                    "c.close()\n", path, str(value)], check=True, timeout=60)


def test_every_commit_changes_the_header_and_reads_do_not(tmp_path):
    path = str(tmp_path / "cluster.db")
    make_engine(f"sqlite:///{path}").dispose()
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("PRAGMA journal_mode=WAL")
    reader.execute("CREATE TABLE t (x INTEGER)")
    watch = WalIndexHeader(path)
    seen = [watch.header()]
    assert seen[0] is not None and len(seen[0]) == HEADER_BYTES
    reader.execute("SELECT count(*) FROM t").fetchall()
    assert watch.header() == seen[0]  # reads commit nothing
    for value in range(3):
        _commit_elsewhere(path, value)  # another process: its last close checkpoints, ours keeps -shm
        seen.append(watch.header())
        reader.execute("INSERT INTO t VALUES (?)", (value,))  # this process, another connection
        seen.append(watch.header())
    assert None not in seen and len(set(seen)) == len(seen)
    reader.execute("PRAGMA wal_checkpoint(PASSIVE)")
    assert watch.header() == seen[-1]  # a checkpoint moves data, not what a reader sees
    reader.close()


def test_a_header_that_cannot_vouch_sends_the_reader_to_the_database(tmp_path):
    assert WalIndexHeader(str(tmp_path / "none.db")).header() is None  # no -shm: not in WAL mode or not open
    torn = tmp_path / "torn.db-shm"
    torn.write_bytes(bytes(HEADER_BYTES) + b"\x01" * HEADER_BYTES)  # the copies differ: a commit mid-write
    assert WalIndexHeader(str(tmp_path / "torn.db")).header() is None
    (tmp_path / "short.db-shm").write_bytes(b"\x00" * 10)
    assert WalIndexHeader(str(tmp_path / "short.db")).header() is None


@pytest.fixture
def db_url(tmp_path):  # type: ignore[no-untyped-def]
    """SQLite only: the wal-index header is SQLite's (on PostgreSQL a server reads the change log)."""
    return f"sqlite:///{tmp_path / 'cluster.db'}"


@pytest.fixture
def sqlite_snapshot(cluster, settings):  # type: ignore[no-untyped-def]
    db = Database.from_url(settings.effective_database_url)
    snap = InventorySnapshot(db)
    reads: list[int] = []
    latest = snap._latest_seq
    snap._latest_seq = lambda: reads.append(1) or latest()  # type: ignore[method-assign]
    try:
        yield snap, reads
    finally:
        db.dispose()


def test_a_server_reads_the_change_log_only_after_a_commit(cluster, sqlite_snapshot):
    snap, reads = sqlite_snapshot
    snap.sync()
    snap.sync()  # the first look may find no -shm yet (the CLI's last connection removed it): one more read
    host = snap.by_name["compute-0-0"]
    before = len(reads)
    for _ in range(50):
        snap.sync()
    assert len(reads) == before  # nothing committed: the header vouched for all fifty
    assert cluster("set", "host", "attr", "compute-0-0", "rack_power", "b").code == 0
    snap.sync()
    assert len(reads) == before + 1
    assert snap.attrs(snap.hosts[host])["rack_power"] == "b"  # the very next request sees the write


def test_a_write_from_another_process_is_seen_at_once(cluster, settings, sqlite_snapshot):
    snap, _ = sqlite_snapshot
    snap.sync()
    host = snap.by_name["compute-0-1"]
    env_root = str(settings.root)
    subprocess.run([sys.executable, "-m", "ksserver", "set", "host", "attr", "compute-0-1",
                    "rack_power", "c"], check=True, timeout=120,
                   env={"PATH": "/usr/bin:/bin", "KSSERVER_ROOT": env_root, "KSSERVER_CLI_LOCAL": "1",
                        "KSSERVER_DATABASE_URL": settings.effective_database_url})
    snap.sync()
    assert snap.attrs(snap.hosts[host])["rack_power"] == "c"
