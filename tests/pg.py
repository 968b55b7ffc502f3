"""A private PostgreSQL cluster for tests: initdb + pg_ctl as the postgres user on a loopback port.

Recipe from environment-recipes §5.  Started once per test session, stopped at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.procs import free_port


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir: Path | None = None
        self.port = 0

    def unavailable_reason(self) -> str | None:
        if self.bin is None:
            return "PostgreSQL server binaries not installed (apt-get install postgresql)"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no 'postgres' system user"
        if os.geteuid() != 0:
            return "starting PostgreSQL as the postgres user needs root"
        return None

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        assert self.bin is not None
        self.dir = Path(tempfile.mkdtemp(prefix="ksserver-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self._as_postgres(str(self.bin / "initdb"), "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", f"{self.dir}/data", "-l", f"{self.dir}/pg.log", "-w",
                          "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                                f"-c max_connections=200 -c fsync=off", "start")

    def stop(self) -> None:
        if self.dir is None:
            return
        try:
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", f"{self.dir}/data", "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
