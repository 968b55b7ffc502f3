"""The embedded SQLite database survives a process that opens it more than once: a server worker holds its
connections while it opens another ``Database`` (the in-process CLI endpoint, a follower's pass) and a
``rocks`` process finishes meanwhile.  Closing any descriptor of the database file drops every POSIX lock
the process holds on it, SQLite's included; the other process's last connection then checkpointed and
deleted the WAL under the server, whose next statement found a malformed database."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text

from ksserver.db.session import Database, secure_sqlite_file


def test_a_second_database_in_a_process_keeps_the_first_ones_locks(tmp_path):
    path = tmp_path / "cluster.db"
    url = f"sqlite:///{path}"
    server = Database.from_url(url)
    with server.engine.begin() as conn:
        conn.execute(text("CREATE TABLE hosts (name TEXT)"))
        conn.execute(text("INSERT INTO hosts VALUES ('compute-0-0')"))
    held = server.engine.connect()  # a worker's pooled connection, open between requests
    assert held.execute(text("SELECT count(*) FROM hosts")).scalar() == 1
    held.commit()
    other = Database.from_url(url)  # opened in the same process
    other.dispose()
    writer = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
              "c.execute(\"INSERT INTO hosts VALUES ('compute-0-1')\"); c.commit(); c.close()")
    subprocess.run([sys.executable, "-c", writer, str(path)], check=True, timeout=60)  # `rocks add host`
    assert path.with_name("cluster.db-wal").exists()  # the server's connection still counts as a reader
    with server.engine.begin() as conn:
        conn.execute(text("INSERT INTO hosts VALUES ('compute-0-2')"))
    assert held.execute(text("SELECT count(*) FROM hosts")).scalar() == 3
    assert held.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    held.close()
    server.dispose()


def test_a_new_database_file_is_private_from_the_start(tmp_path):
    path = tmp_path / "state" / "cluster.db"
    old = os.umask(0)
    try:
        secure_sqlite_file(f"sqlite:///{path}")
    finally:
        os.umask(old)
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    path.chmod(0o644)
    secure_sqlite_file(f"sqlite:///{path}")  # an existing file is only chmod-ed, never opened
    assert path.stat().st_mode & 0o777 == 0o600
