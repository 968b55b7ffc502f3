"""Build a benchmark cluster of N hosts in a fresh state directory (SQLite, or the empty database named by
$KSSERVER_BENCH_DATABASE_URL, e.g. a PostgreSQL one)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from ksserver.cli import run
from ksserver.config import Settings, load_settings


@dataclass
class BenchCluster:
    root: Path
    settings: Settings
    n: int

    def mac(self, i: int) -> str:
        return mac_for(i)

    def name(self, i: int) -> str:
        rack, rank = divmod(i, 100)
        return f"compute-{rack}-{rank}"


def mac_for(i: int) -> str:
    return "52:54:%02x:%02x:%02x:%02x" % (0x10, (i >> 16) & 255, (i >> 8) & 255, i & 255)


def host_rows_csv(n: int, offset: int = 0) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "mac"])
    for i in range(offset, offset + n):
        rack, rank = divmod(i, 100)
        writer.writerow([f"compute-{rack}-{rank}", mac_for(i)])
    return out.getvalue()


def rocks(settings: Settings, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), settings=settings, out=out, err=err)
    if code != 0:
        raise RuntimeError(f"rocks {' '.join(argv)} failed: {err.getvalue().strip()}")
    return out.getvalue()


def build(n: int, root: Path | None = None) -> BenchCluster:
    root = root or Path(tempfile.mkdtemp(prefix="ksserver-bench-"))
    settings = load_settings(environ={}, root=root, evals=False,
                             database_url=os.environ.get("KSSERVER_BENCH_DATABASE_URL", ""))
    with redirect_stdout(io.StringIO()):
        rocks(settings, "init")
        rocks(settings, "add", "host", "frontend", "membership=Frontend", "ip=10.1.1.1", "mac=52:54:00:00:00:01")
        # wrk connects from 127.0.0.1: loopback stands in for a provisioning network in discovery mode, where
        # a host's MAC header identifies it (docs/security.md); no host owns a loopback address.
        if n > 60000:  # the stock private /16 holds 65,534 addresses: 100,000 hosts need a /14
            rocks(settings, "set", "network", "private", "subnet=10.0.0.0", "netmask=255.252.0.0")
        rocks(settings, "add", "network", "benchloop", "subnet=127.0.0.0", "netmask=255.0.0.0", "provisioning=yes",
              "discovery=yes")
    path = root / "hosts.csv"
    path.write_text(host_rows_csv(n))
    rocks(settings, "add", "host", f"file={path}")
    return BenchCluster(root, settings, n)
