"""The benchmark scenarios of issue 4.  Each returns a dict of figures (times in ms)."""

from __future__ import annotations

import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import http
from bench.cluster import BenchCluster, host_rows_csv, mac_for, rocks
from bench.stats import summary
from ksserver.config import load_settings


def render_inprocess(cluster: BenchCluster, samples: int) -> dict:
    from ksserver.db.session import Database
    from ksserver.inventory.snapshot import InventorySnapshot
    from ksserver.kickstarts import KickstartService

    db = Database.from_url(cluster.settings.effective_database_url)
    snap = InventorySnapshot(db)
    snap.sync()
    service = KickstartService(cluster.settings)
    # The snapshot reads views on first use: take the sampled hosts' views before timing (renders only).
    random.seed(1)
    ids = [snap.by_name[cluster.name(random.randrange(cluster.n))] for _ in range(min(samples, 2000))]
    views = [snap.host(hid) for hid in ids]
    for view in views[:5]:  # warm: the compute template is compiled and validated once
        service.render(view.appliance, view.root, snap.attrs(view), view.name)
    picks = [random.choice(views) for _ in range(samples)]
    times = []
    size = 0
    for view in picks:
        t0 = time.perf_counter()
        text = service.render(view.appliance, view.root, snap.attrs(view), view.name)
        times.append(time.perf_counter() - t0)
        size = len(text)
    db.dispose()
    return {**summary(times), "throughput_rps": round(samples / sum(times)), "samples": samples,
            "kickstart_bytes": size}


def _env(cluster: BenchCluster) -> dict[str, str]:
    env = dict(os.environ)
    env.update(KSSERVER_ROOT=str(cluster.root), KSSERVER_EVALS="false", KSSERVER_LOG_LEVEL="WARNING",
               KSSERVER_FILES_BIND=f"127.0.0.1:{http.free_port()}")  # not the default port + 1: it may be taken
    env.pop("KSSERVER_DATABASE_URL", None)
    if cluster.settings.database_url:  # $KSSERVER_BENCH_DATABASE_URL: the servers use the bench's database
        env["KSSERVER_DATABASE_URL"] = cluster.settings.database_url
    return env


def storm(cluster: BenchCluster, connections: int, duration: float, workers: int = 2, threads: int = 8) -> dict:
    """Every host fetches its kickstart as anaconda does: its MAC header, one connection per fetch."""
    port = http.free_port()
    url = f"http://127.0.0.1:{port}{http.KS_PATH}"
    argv = http.ksserver_argv(f"127.0.0.1:{port}", workers, threads)
    headers = {"X-RHN-Provisioning-MAC-0": f"eth0 {mac_for(0)}"}
    macs = [mac_for(i) for i in range(cluster.n)]
    with http.server(argv, _env(cluster), url, headers):
        # Every host once through the pipe before timing, as a warm-up of every worker.
        http.run_wrk(f"http://127.0.0.1:{port}", http.mac_lua(macs), min(connections, 64), 2)
        result = http.run_wrk(f"http://127.0.0.1:{port}", http.mac_lua(macs), connections, duration)
    result.pop("raw", None)
    return result


def static_baseline(body_bytes: int, connections: int, duration: float, workers: int = 2, threads: int = 8) -> dict:
    """The same gunicorn setup (sync workers) and the same request shape, returning a fixed body."""
    port = http.free_port()
    url = f"http://127.0.0.1:{port}{http.KS_PATH}"
    env = dict(os.environ, BENCH_BODY_BYTES=str(body_bytes))
    argv = [sys.executable, "-m", "bench.static_app", f"127.0.0.1:{port}", str(workers), str(threads)]
    with http.server(argv, env, url):
        result = http.run_wrk(f"http://127.0.0.1:{port}", http.close_lua(), connections, duration)
    result.pop("raw", None)
    return result


def bulk_add(n: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="ksserver-bench-bulk-"))
    try:
        settings = load_settings(environ={}, root=root)
        rocks(settings, "init")
        if n > 60000:  # as bench.cluster.build: the stock private /16 is too small
            rocks(settings, "set", "network", "private", "subnet=10.0.0.0", "netmask=255.252.0.0")
        path = root / "hosts.csv"
        path.write_text(host_rows_csv(n))
        t0 = time.perf_counter()
        rocks(settings, "add", "host", f"file={path}")
        elapsed = time.perf_counter() - t0
        return {"seconds": round(elapsed, 3), "hosts_per_s": round(n / elapsed)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def mutation(cluster: BenchCluster, samples: int) -> dict:
    """One mutation through the service layer, as `rocks set host attr` / `rocks set host boot` do it:
    validation, one transaction with the change log, and (for boot) token issue + PXE/GRUB/iPXE answers."""
    from ksserver.db.session import Database
    from ksserver.services import Cluster, attrs, boot

    db = Database.from_url(cluster.settings.effective_database_url)
    svc = Cluster(cluster.settings, db)
    attr_times, boot_times = [], []
    random.seed(2)
    for k in range(samples):
        name = cluster.name(random.randrange(cluster.n))
        t0 = time.perf_counter()
        attrs.set_attr(svc, "host", [name], "bench", str(k))
        attr_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        boot.set_boot(svc, [name], "install" if k % 2 else "os")
        boot_times.append(time.perf_counter() - t0)
    db.dispose()
    attr, bootf = summary(attr_times), summary(boot_times)
    return {"set_attr_median_ms": attr["median_ms"], "set_attr_p99_ms": attr["p99_ms"],
            "set_boot_median_ms": bootf["median_ms"], "set_boot_p99_ms": bootf["p99_ms"],
            "median_ms": max(attr["median_ms"], bootf["median_ms"]), "p99_ms": max(attr["p99_ms"], bootf["p99_ms"])}


def _compile_bytecode() -> None:
    """A deployed package has its bytecode (pip writes it); a checkout run with PYTHONDONTWRITEBYTECODE
    would compile every module in every cold worker (~0.3 s), which is not what a site sees."""
    import compileall

    import ksserver

    compileall.compile_dir(str(Path(ksserver.__file__).parent), quiet=1)


def cold_start(cluster: BenchCluster, runs: int = 3) -> dict:
    _compile_bytecode()
    times, rss, cpu = [], [], []
    for _ in range(runs):
        port = http.free_port()
        url = f"http://127.0.0.1:{port}{http.KS_PATH}"
        headers = {"X-RHN-Provisioning-MAC-0": f"eth0 {mac_for(cluster.n // 2)}"}
        with http.server(http.ksserver_argv(f"127.0.0.1:{port}", 2, 8), _env(cluster), url, headers) as (proc, ready):
            times.append(ready)
            workers = _children(proc.pid)
            rss.append(max(_rss_mb(pid) for pid in workers) if workers else 0.0)
            # CPU seconds the server spent to get there (both workers): the wall clock of a shared machine
            # also counts other people's work.
            cpu.append(sum(_cpu_s(pid) for pid in [proc.pid, *workers]))
    return {**summary(times), "runs": runs, "worker_rss_mb": round(max(rss), 1),
            "cpu_seconds": round(sorted(cpu)[len(cpu) // 2], 3)}


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def global_attr_change(cluster: BenchCluster, runs: int = 5) -> dict:
    """The first kickstarts after `rocks set attr` (a shared change) against a running server: every worker
    re-reads the shared layer, not the cluster.  Also the workers' memory after it."""
    _compile_bytecode()
    port = http.free_port()
    url = f"http://127.0.0.1:{port}{http.KS_PATH}"
    headers = {"X-RHN-Provisioning-MAC-0": f"eth0 {mac_for(cluster.n // 2)}"}
    firsts, seconds = [], []
    with http.server(http.ksserver_argv(f"127.0.0.1:{port}", 2, 8), _env(cluster), url, headers) as (proc, _):
        for k in range(8):  # both workers warm
            _fetch(url, {"X-RHN-Provisioning-MAC-0": f"eth0 {mac_for(k)}"})
        for k in range(runs):
            rocks(cluster.settings, "set", "attr", "bench_tag", f"v{k}")
            for times in (firsts, seconds):  # two workers: the second fetch likely finds the other one
                mac = mac_for(random.randrange(cluster.n))
                t0 = time.perf_counter()
                _fetch(url, {"X-RHN-Provisioning-MAC-0": f"eth0 {mac}"})
                times.append(time.perf_counter() - t0)
        rss = max((_rss_mb(pid) for pid in _children(proc.pid)), default=0.0)
    first, second = summary(firsts), summary(seconds)
    return {"median_ms": first["median_ms"], "p99_ms": max(first["p99_ms"], second["p99_ms"]),
            "second_median_ms": second["median_ms"], "runs": runs, "worker_rss_mb": round(rss, 1)}


def _fetch(url: str, headers: dict[str, str]) -> bytes:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as resp:
        return resp.read()


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        out += [int(x) for x in task.read_text().split()]
    return out


def _rss_mb(pid: int) -> float:
    """Resident memory of a worker (after it served its first kickstart; the snapshot is loaded lazily)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rocks_dist(cluster: BenchCluster) -> dict:
    """rocks-dist dist with the repository's example site profiles, every host validated."""
    repo = Path(__file__).resolve().parent.parent
    site = cluster.settings.site_profile_dir
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(repo / "site-profiles" / "nodes", site / "nodes")
    shutil.copytree(repo / "site-profiles" / "graphs", site / "graphs")
    try:
        t0, cpu0 = time.perf_counter(), time.process_time()
        out = rocks(cluster.settings, "create", "distro")
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        shutil.rmtree(site, ignore_errors=True)
    # CPU seconds too: on a shared machine the wall clock also counts other people's work.
    return {"seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3), "report": out.splitlines()[0]}


_GIB = 2 * 1024 * 1024  # 512-byte sectors
# The installer plugin's report (rocks_partition.records Layout JSON: sizes in sectors).
REPORT = {"version": 1, "disks": {"sda": {"size": 1000 * _GIB, "label": "gpt", "partitions": [
    {"device": "sda1", "start": 2048, "size": 16 * _GIB, "fstype": "xfs", "mountpoint": "/", "flags": ["boot"]},
    {"device": "sda2", "start": 2048 + 16 * _GIB, "size": 4 * _GIB, "fstype": "xfs", "mountpoint": "/var"},
    {"device": "sda3", "start": 2048 + 20 * _GIB, "size": _GIB, "fstype": "swap", "mountpoint": "swap"},
    {"device": "sda5", "start": 2048 + 21 * _GIB, "size": 900 * _GIB, "fstype": "xfs",
     "mountpoint": "/state/partition1"}]}}}


def partition_reports(cluster: BenchCluster, connections: int, duration: float) -> dict:
    """N hosts post their layout (JSON, own MAC header, one connection each); then count what landed."""
    import json

    from sqlalchemy import func, select

    from ksserver.db.models import Partition
    from ksserver.db.session import Database

    port = http.free_port()
    url = f"http://127.0.0.1:{port}{http.KS_PATH}"
    macs = [mac_for(i) for i in range(cluster.n)]
    with http.server(http.ksserver_argv(f"127.0.0.1:{port}", 2, 8), _env(cluster), url,
                     {"X-RHN-Provisioning-MAC-0": f"eth0 {mac_for(0)}"}):
        result = http.run_wrk(f"http://127.0.0.1:{port}", http.report_lua(macs, json.dumps(REPORT)), connections,
                              duration)
    acked = re.search(r"hosts_acknowledged (\d+)", str(result.pop("raw", "")))
    db = Database.from_url(cluster.settings.effective_database_url)
    with db.session() as session:
        per_host = session.execute(select(Partition.host_id, func.count()).group_by(Partition.host_id)).all()
    db.dispose()
    complete = sum(1 for _, count in per_host if count == len(REPORT["disks"]["sda"]["partitions"]))
    # Lost: a host the server answered 200 whose layout is not recorded (wrk abandons what is in flight
    # when it stops, so the request count overstates what arrived once the hosts wrap around).
    expected = int(acked[1]) if acked else min(int(result.get("requests", 0)), cluster.n)
    result.update(hosts_recorded=complete, hosts_expected=expected, lost=max(0, expected - complete))
    return result


def library_is_stale(samples: int = 200) -> dict:
    """Cost of the server's change check on the node/graph library (a few dozen stat() calls)."""
    from ksserver.graph import GraphLibrary, Source, stock_nodes_dir

    lib = GraphLibrary.load([Source(path=stock_nodes_dir(), label="stock")])
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        lib.is_stale()
        times.append(time.perf_counter() - t0)
    return summary(times)
