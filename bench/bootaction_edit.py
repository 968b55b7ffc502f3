"""python -m bench.bootaction_edit [--n N]: what a boot-action edit costs the instance where it is made
(``ksserver.services.boot`` through ``BootFileChanges``), with the SQL statements it ran (docs/scale-out.md
"Limits").

Every host gets a boot state (1% of them install, with tokens), as in ``bench.tftp_follow``.  Prints one line
per command: seconds and statements.  SQLite, or the database named by $KSSERVER_BENCH_DATABASE_URL."""

from __future__ import annotations

import argparse
import io
import shutil
import time
from contextlib import redirect_stdout

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.cluster import build, rocks
from bench.tftp_follow import _give_boot_states


def run(n: int) -> list[dict]:
    cluster = build(n)
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    try:
        t0 = time.perf_counter()
        _give_boot_states(cluster)
        print(f"setup: {n} hosts with a boot state in {time.perf_counter() - t0:.1f} s", flush=True)
        names = [cluster.name(i) for i in range(cluster.n)]
        rows = []
        event.listen(Engine, "before_cursor_execute", count)  # every engine the in-process CLI makes

        def measure(name: str, *argv: str) -> None:
            statements[0] = 0
            t = time.perf_counter()
            with redirect_stdout(io.StringIO()):
                rocks(cluster.settings, *argv)
            row = {"command": name, "n": n, "seconds": round(time.perf_counter() - t, 3),
                   "statements": statements[0]}
            rows.append(row)
            print(f"{name:<30} N={n:<6} seconds={row['seconds']:<8} statements={statements[0]}", flush=True)

        measure("add_bootaction_os_unchanged", "add", "bootaction", "os", "kernel=localboot 0")
        measure("add_bootaction_install_1pct", "add", "bootaction", "install", "kernel=vmlinuz-bench",
                "ramdisk=initrd-bench.img", "args=ip=dhcp")
        measure("set_host_boot_all_os", "set", "host", "boot", *names, "action=os")
        measure("set_host_boot_1pct_install", "set", "host", "boot", *names[::100], "action=install")
        return rows
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        shutil.rmtree(cluster.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.bootaction_edit")
    parser.add_argument("--n", type=int, action="append", help="hosts (repeatable; default 2000 and 10000)")
    args = parser.parse_args()
    for n in args.n or [2000, 10000]:
        run(n)


if __name__ == "__main__":
    main()
