"""python -m bench.tftp_follow [--n N]: what the TFTP follower (ksserver.services.tftpsync) costs a second
instance after each kind of change, with the SQL statements it ran (docs/scale-out.md "Limits").

Every host gets a boot state (1% of them install, with tokens); instance B follows with its own tree.
Prints one line per pass: seconds, files written or removed, statements.  SQLite, or the database named by
$KSSERVER_BENCH_DATABASE_URL."""

from __future__ import annotations

import argparse
import io
import shutil
import time
from contextlib import redirect_stdout

from sqlalchemy import event

from bench.cluster import BenchCluster, build, rocks
from ksserver.config import load_settings
from ksserver.db.session import Database
from ksserver.services.bootfiles import KEY_NAME, token_key
from ksserver.services.tftpsync import TftpFollower

CHUNK = 1000  # host names per `rocks set host boot`


def _give_boot_states(cluster: BenchCluster) -> None:
    names = [cluster.name(i) for i in range(cluster.n)]
    installing = names[::100]
    with redirect_stdout(io.StringIO()):
        for start in range(0, len(names), CHUNK):
            rocks(cluster.settings, "set", "host", "boot", *names[start:start + CHUNK], "action=os")
        rocks(cluster.settings, "set", "host", "boot", *installing, "action=install")


def run(n: int) -> list[dict]:
    cluster = build(n)
    try:
        t0 = time.perf_counter()
        _give_boot_states(cluster)
        print(f"setup: {n} hosts with a boot state in {time.perf_counter() - t0:.1f} s", flush=True)
        root = cluster.root / "instance-b"
        root.mkdir()
        key = token_key(cluster.settings, create=True)
        assert key is not None
        (root / KEY_NAME).write_text(key.hex() + "\n")
        other = load_settings(environ={}, root=root, database_url=cluster.settings.effective_database_url)
        db = Database.from_url(other.effective_database_url)
        statements = [0]

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*_args: object) -> None:
            statements[0] += 1

        follower = TftpFollower(other, db)
        rows = []

        def measure(name: str, *argv: str) -> None:
            if argv:
                with redirect_stdout(io.StringIO()):
                    rocks(cluster.settings, *argv)
            statements[0] = 0
            t = time.perf_counter()
            done = follower.step()
            row = {"pass": name, "n": n, "seconds": round(time.perf_counter() - t, 3), "files": done,
                   "statements": statements[0]}
            rows.append(row)
            print(f"{name:<28} N={n:<6} seconds={row['seconds']:<8} files={done:<6} "
                  f"statements={statements[0]}", flush=True)

        measure("first_sync")
        measure("shared_nothing_to_write", "set", "attr", "bench_tftp_marker", "1")
        measure("shared_rewrite_installs", "add", "bootaction", "install", "kernel=vmlinuz-bench",
                "ramdisk=initrd-bench.img", "args=ip=dhcp")
        measure("host_scoped_10", "set", "host", "boot", *[cluster.name(i) for i in range(1, 11)],
                "action=install")
        measure("nothing_changed")
        db.engine.dispose()
        return rows
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.tftp_follow")
    parser.add_argument("--n", type=int, action="append", help="hosts (repeatable; default 2000 and 10000)")
    args = parser.parse_args()
    for n in args.n or [2000, 10000]:
        run(n)


if __name__ == "__main__":
    main()
