"""Issue 13's serving scenarios: packages, slow clients and kickstarts, each figure next to nginx's of the
same run (nginx serves the same bytes on loopback; bench/nginx.py).  Times in ms, sizes in MB (1e6 bytes).

The machine has two cores shared by the server, nginx and the load generators (wrk, curl), so absolute
figures move with whatever else runs; the ratios compare the two servers under the same conditions."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench import http
from bench.cluster import BenchCluster, mac_for
from bench.nginx import nginx

SMALL_FILES = 64
SMALL_BYTES = 300 * 1000
BIG_BYTES = 200 * 1000 * 1000
BIG_PATH = "/install/bench/big.iso"


def prepare_files(cluster: BenchCluster) -> None:
    """300 KB 'packages' and one 200 MB 'image' under install/bench/ (random bytes: nothing compresses)."""
    base = cluster.settings.dist_dir / "bench"
    if (base / "big.iso").exists():
        return
    (base / "Packages").mkdir(parents=True, exist_ok=True)
    for i in range(SMALL_FILES):
        (base / "Packages" / f"pkg-{i}.rpm").write_bytes(os.urandom(SMALL_BYTES))
    chunk = os.urandom(1000 * 1000)
    with (base / "big.iso").open("wb") as handle:
        for _ in range(BIG_BYTES // len(chunk)):
            handle.write(chunk)


def files_lua(paths: list[str]) -> str:
    """Keep-alive clients (dnf reuses its connections) fetching the files in turn."""
    table = ",".join(f'"{p}"' for p in paths)
    return f"""
local paths = {{{table}}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def _env(cluster: BenchCluster, server: str) -> dict[str, str]:
    env = dict(os.environ, KSSERVER_ROOT=str(cluster.root), KSSERVER_EVALS="false", KSSERVER_LOG_LEVEL="WARNING",
               KSSERVER_SERVER=server,
               KSSERVER_FILES_BIND=f"127.0.0.1:{http.free_port()}")  # not port + 1: another instance may hold it
    env.pop("KSSERVER_DATABASE_URL", None)
    return env


@contextlib.contextmanager
def ksserver(cluster: BenchCluster, server: str = "uvloop", workers: int = 2,
             threads: int = 8) -> Iterator[tuple[str, str]]:
    """(kickstart server's base URL, install-tree listener's base URL): the second is what the kickstart's
    ``url`` line names, so installers' package downloads go there."""
    port, files_port = http.free_port(), http.free_port()
    argv = http.ksserver_argv(f"127.0.0.1:{port}", workers, threads)
    env = dict(_env(cluster, server), KSSERVER_FILES_BIND=f"127.0.0.1:{files_port}")
    with http.server(argv, env, f"http://127.0.0.1:{port}{http.KS_PATH}",
                     {"X-RHN-Provisioning-MAC-0": f"eth0 {mac_for(0)}"}):
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{files_port}"


def kickstart_bytes(base: str) -> bytes:
    req = urllib.request.Request(base + http.KS_PATH, headers={"X-RHN-Provisioning-MAC-0": f"eth0 {mac_for(0)}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read()


@contextlib.contextmanager
def both(cluster: BenchCluster, server: str = "uvloop") -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """ksserver and nginx side by side, serving the same install/ tree and the same kickstart bytes:
    (kickstart base URLs, install-tree base URLs), each by server name.  nginx serves both on one port;
    ksserver's install tree is its file listener (the main port serves the same files, more slowly)."""
    with ksserver(cluster, server) as (ks, ks_files):
        body = kickstart_bytes(ks)
        with nginx(cluster.settings.dist_dir, body) as ng:
            yield {"ksserver": ks, "nginx": ng}, {"ksserver": ks_files, "nginx": ng}


def _storm(base: str, cluster: BenchCluster, connections: int, duration: float) -> dict:
    macs = [mac_for(i) for i in range(cluster.n)]
    result = http.run_wrk(base, http.mac_lua(macs), connections, duration)
    result.pop("raw", None)
    if not result.get("requests"):  # nothing came back at all: no latency to report, every client failed
        result.update(p50_ms=float("inf"), p99_ms=float("inf"), errors=max(result["errors"], connections))
    return result


def listener_group(base: str) -> int | None:
    """The process group of whatever listens on ``base``'s loopback port (Linux /proc; None elsewhere): both
    servers run in sessions of their own, so the group holds their master and every worker."""
    port = int(base.rsplit(":", 1)[1])
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # 0A: LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd")):
                return os.getpgid(int(pid))
    return None


def group_cpu_seconds(group: int | None) -> float:
    """User + system CPU of every process in ``group`` so far."""
    if group is None:
        return 0.0
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # fields[0] is the state: pgrp, utime and stime follow
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuPerRequest:
    """Server CPU per request (microseconds): on a shared two-core machine this moves far less with the
    neighbours' load than requests per second do."""

    def __init__(self, urls: dict[str, str]):
        self.groups = {name: listener_group(base) for name, base in urls.items()}
        self.used = {name: 0.0 for name in urls}
        self.requests = {name: 0 for name in urls}

    @contextlib.contextmanager
    def measure(self, name: str) -> Iterator[dict]:
        before = group_cpu_seconds(self.groups[name])
        result: dict = {}
        yield result
        self.used[name] += group_cpu_seconds(self.groups[name]) - before
        self.requests[name] += int(result.get("requests", 0))

    def figures(self, prefix: str = "") -> dict:
        out = {f"{name}_{prefix}cpu_us_per_req": round(self.used[name] / self.requests[name] * 1e6, 1)
               for name in self.used if self.requests[name] and self.groups[name] is not None}
        if len(out) == 2:
            ks, ng = (out[f"{name}_{prefix}cpu_us_per_req"] for name in ("ksserver", "nginx"))
            out[f"{prefix}cpu_ratio"] = _ratio(ng, ks)  # nginx's CPU per request over ksserver's
        return out


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def install_files(cluster: BenchCluster, duration: float) -> dict:
    """Target 1b: 32 clients fetching 300 KB packages, then 32 clients fetching the 200 MB image."""
    prepare_files(cluster)
    small = [f"/install/bench/Packages/pkg-{i}.rpm" for i in range(SMALL_FILES)]
    out: dict = {}
    with both(cluster) as (_, urls):
        for name, base in urls.items():  # warm the page cache and both servers
            http.run_wrk(base, files_lua(small), 32, 1)
        small_cpu, big_cpu = CpuPerRequest(urls), CpuPerRequest(urls)
        for name, base in urls.items():
            with small_cpu.measure(name) as r:
                r.update(http.run_wrk(base, files_lua(small), 32, duration))
            out[f"{name}_small_files_per_s"] = r["throughput_rps"]
            out[f"{name}_small_errors"] = r["errors"]
            with big_cpu.measure(name) as r:
                r.update(http.run_wrk(base, files_lua([BIG_PATH]), 32, duration, timeout_s=60))
            out[f"{name}_big_mb_per_s"] = r["mbytes_per_s"]
            out[f"{name}_big_errors"] = r["errors"]
        out.update(small_cpu.figures("small_"), **big_cpu.figures("big_"))
    out["small_ratio"] = _ratio(out["ksserver_small_files_per_s"], out["nginx_small_files_per_s"])
    out["big_ratio"] = _ratio(out["ksserver_big_mb_per_s"], out["nginx_big_mb_per_s"])
    out["ratio"] = min(out["small_ratio"], out["big_ratio"])
    out["errors"] = sum(v for k, v in out.items() if k.endswith("_errors"))
    return out


@contextlib.contextmanager
def _rate_limited_downloads(base: str, clients: int, rate: str) -> Iterator[list[int]]:
    """``clients`` curl processes downloading the image again and again at ``rate``; yields their failures."""
    stop = threading.Event()
    failures: list[int] = []

    def loop() -> None:
        while not stop.is_set():
            proc = subprocess.Popen(["curl", "-s", "-o", "/dev/null", "--limit-rate", rate, "--fail",
                                     base + BIG_PATH])
            while proc.poll() is None:
                if stop.wait(0.2):
                    proc.terminate()
                    proc.wait()
                    return
            if proc.returncode != 0:
                failures.append(proc.returncode)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        yield failures
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)


def downloads_vs_kickstarts(cluster: BenchCluster, duration: float, server: str = "uvloop") -> dict:
    """Target 1a: kickstart latency while 32 clients download the 200 MB image flat out and 8 more at
    25 MB/s each, all from the same server; the nginx figure is nginx serving both under the same load."""
    if shutil.which("curl") is None:
        raise RuntimeError("curl is not installed")
    prepare_files(cluster)
    out: dict = {}
    with both(cluster, server) as (urls, files):
        for name, base in urls.items():
            downloaders: dict = {}

            def flat_out(files_base: str = files[name], downloaders: dict = downloaders) -> None:
                downloaders.update(http.run_wrk(files_base, files_lua([BIG_PATH]), 32, duration + 4,
                                                timeout_s=60))

            bulk = threading.Thread(target=flat_out, daemon=True)
            with _rate_limited_downloads(files[name], 8, "25M") as slow_failures:
                bulk.start()
                time.sleep(2)  # every download under way
                ks = _storm(base, cluster, 8, duration)
                bulk.join(timeout=duration + 120)
            out[f"{name}_ks_p50_ms"] = ks["p50_ms"]
            out[f"{name}_ks_p99_ms"] = ks["p99_ms"]
            out[f"{name}_ks_per_s"] = ks["throughput_rps"]
            out[f"{name}_ks_errors"] = ks["errors"]
            out[f"{name}_ks_requests"] = ks.get("requests", 0)
            out[f"{name}_download_mb_per_s"] = downloaders.get("mbytes_per_s", 0.0)
            out[f"{name}_download_errors"] = int(downloaders.get("errors", 0)) + len(slow_failures)
    out["p99_ms"] = out["ksserver_ks_p99_ms"]
    out["errors"] = out["ksserver_ks_errors"] + out["ksserver_download_errors"]
    return out


class Tricklers:
    """``count`` connections that send a request's headers one byte a second (reconnecting when the server
    drops them, as an attacker would)."""

    def __init__(self, base: str, count: int):
        host, port = base.rsplit("/", 1)[-1].split(":")
        self.address = (host, int(port))
        self.count = count
        self.stop = threading.Event()
        self.reconnects = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(f"GET {http.KS_PATH} HTTP/1.1\r\nHost: x\r\n".encode())
        return sock

    def _run(self) -> None:
        socks = [self._open() for _ in range(self.count)]
        while not self.stop.wait(1.0):
            for k, sock in enumerate(socks):
                try:
                    sock.sendall(b"X")
                except OSError:
                    sock.close()
                    self.reconnects += 1
                    with contextlib.suppress(OSError):
                        socks[k] = self._open()
        for sock in socks:
            sock.close()

    def __enter__(self) -> Tricklers:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def slow_clients(cluster: BenchCluster, duration: float, server: str = "uvloop") -> dict:
    """Target 2: the storm (256 installers) alone, then with 200 connections trickling headers."""
    out: dict = {}
    with both(cluster, server) as (urls, _):
        for name, base in urls.items():
            _storm(base, cluster, 64, 2)  # warm-up
            alone = _storm(base, cluster, 256, duration)
            with Tricklers(base, 200) as tricklers:
                time.sleep(1)
                loaded = _storm(base, cluster, 256, duration)
            out[f"{name}_alone_per_s"] = alone["throughput_rps"]
            out[f"{name}_trickled_per_s"] = loaded["throughput_rps"]
            out[f"{name}_trickled_p99_ms"] = loaded["p99_ms"]
            out[f"{name}_trickled_errors"] = loaded["errors"]
            out[f"{name}_kept"] = _ratio(loaded["throughput_rps"], alone["throughput_rps"])
            out[f"{name}_reconnects"] = tricklers.reconnects
    out["p99_ms"] = out["ksserver_trickled_p99_ms"]
    out["ratio"] = out["ksserver_kept"]
    out["errors"] = out["ksserver_trickled_errors"]
    return out


def kickstart_vs_nginx(cluster: BenchCluster, duration: float, server: str = "uvloop", rounds: int = 2) -> dict:
    """Target 3: the storm (256 installers, one connection per fetch, MAC headers) against ksserver and
    against nginx returning the same bytes; rounds alternate to even out the machine's other load."""
    out: dict = {"ksserver_per_s": 0.0, "nginx_per_s": 0.0}
    with both(cluster, server) as (urls, _):
        for name, base in urls.items():
            _storm(base, cluster, 64, 2)  # warm-up
        cpu = CpuPerRequest(urls)
        for _ in range(rounds):
            for name, base in urls.items():
                with cpu.measure(name) as r:
                    r.update(_storm(base, cluster, 256, duration))
                out[f"{name}_per_s"] += r["throughput_rps"] / rounds
                out[f"{name}_p99_ms"] = max(out.get(f"{name}_p99_ms", 0), r["p99_ms"])
                out[f"{name}_errors"] = out.get(f"{name}_errors", 0) + r["errors"]
        out["kickstart_bytes"] = len(kickstart_bytes(urls["ksserver"]))
        out.update(cpu.figures())
    out["ksserver_per_s"], out["nginx_per_s"] = round(out["ksserver_per_s"]), round(out["nginx_per_s"])
    out["ratio"] = _ratio(out["ksserver_per_s"], out["nginx_per_s"])
    out["throughput_rps"], out["errors"] = out["ksserver_per_s"], out["ksserver_errors"]
    return out


def _proxy_process(kind: str, front: int, ports: list[int],
                   scratch: Path) -> subprocess.Popen:  # type: ignore[type-arg]
    """nginx or HAProxy with the configuration ``rocks report proxy`` generates, in the foreground."""
    from bench.nginx import nginx_binary
    from ksserver.proxyconf import haproxy_proxy_config, nginx_proxy_config

    backends = [f"127.0.0.1:{p}" for p in ports]
    if kind == "nginx":
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (Debian package nginx-light)")
        (scratch / "nginx.conf").write_text(nginx_proxy_config(f"127.0.0.1:{front}", backends, str(scratch)))
        argv = [binary, "-c", str(scratch / "nginx.conf"), "-p", str(scratch), "-g", "daemon off;"]
    else:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not os.path.exists(binary):
            raise RuntimeError("haproxy is not installed (Debian package haproxy)")
        (scratch / "haproxy.cfg").write_text(haproxy_proxy_config(f"127.0.0.1:{front}", backends, str(scratch)))
        argv = [binary, "-db", "-f", str(scratch / "haproxy.cfg")]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def storm_scale_out(cluster: BenchCluster, duration: float, instances: int = 2,
                    proxies: tuple[str, ...] = ("nginx", "haproxy")) -> dict:
    """The storm through each proxy of ``rocks report proxy`` (nginx and HAProxy, both in front of the same
    ``instances`` ksserver instances of one worker each on one database; the proxy is their trusted proxy).

    Both proxies run at once and are warmed up first; each is then measured twice, in the order A B B A
    (half the duration each, figures averaged), so neither gains from warmer instances or a quieter
    machine.  The unprefixed figures are the first proxy's; ``errors`` adds up every proxy's."""
    import tempfile

    out: dict = {"instances": instances, "errors": 0}
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(instances):
            port = http.free_port()
            env = dict(_env(cluster, "uvloop"), KSSERVER_TRUSTED_PROXIES="127.0.0.1")
            stack.enter_context(http.server(http.ksserver_argv(f"127.0.0.1:{port}", 1, 8), env,
                                            f"http://127.0.0.1:{port}{http.KS_PATH}",
                                            {"X-RHN-Provisioning-MAC-0": f"eth0 {mac_for(0)}",
                                             "X-Forwarded-For": "127.0.0.1"}))
            ports.append(port)
        bases = {}
        for kind in proxies:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"ksserver-bench-{kind}-")))
            front = http.free_port()
            proc = _proxy_process(kind, front, ports, scratch)
            stack.callback(lambda proc=proc, sig=3 if kind == "nginx" else 15: (os.killpg(proc.pid, sig),
                                                                                  proc.wait()))
            for _ in range(100):
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", front), timeout=0.5).close()
                    break
                time.sleep(0.05)
            bases[kind] = f"http://127.0.0.1:{front}"
        for base in bases.values():
            _storm(base, cluster, 64, 2)  # warm-up
        runs: dict[str, list[dict]] = {kind: [] for kind in proxies}
        for kind in list(proxies) + list(reversed(proxies)):
            runs[kind].append(_storm(bases[kind], cluster, 256, duration / 2))
    for kind in proxies:
        for key in ("throughput_rps", "p50_ms", "p99_ms"):
            value = round(sum(r[key] for r in runs[kind]) / len(runs[kind]), 2)
            out[f"{kind}_{key}"] = value
            if kind == proxies[0]:
                out[key] = value
        out[f"{kind}_errors"] = sum(r["errors"] for r in runs[kind])
        out["errors"] += out[f"{kind}_errors"]
    return out


def cli_process(cluster: BenchCluster, runs: int = 10, local_runs: int = 3) -> dict:
    """Target 5: ``rocks list host HOST``, ``rocks list host`` and ``rocks list host interface`` (all N) and
    ``rocks add host`` (then remove) as processes, wall time: delegated to a running ``ksserver serve`` (the
    rocks client) and in-process (``KSSERVER_CLI_LOCAL=1``, as without a server).  ``rocks list host attr``
    of all hosts (every resolved attribute of every host) is timed once, delegated."""
    import statistics
    import sys

    rocks = str(Path(sys.executable).with_name("rocks"))
    env = dict(_env(cluster, "uvloop"))
    local_env = dict(env, KSSERVER_CLI_LOCAL="1")

    def measure(environ: dict[str, str], count: int, tag: str) -> dict[str, list[float]]:
        timings: dict[str, list[float]] = {"list_host": [], "list_host_all": [], "list_host_interface_all": [],
                                           "add_host": []}
        for k in range(count):
            name = f"compute-900-{k}"
            for label, argv in (("list_host", [rocks, "list", "host", cluster.name(k)]),
                                ("list_host_all", [rocks, "list", "host"]),
                                ("list_host_interface_all", [rocks, "list", "host", "interface"]),
                                ("add_host", [rocks, "add", "host", name, f"mac=52:54:00:ee:{tag}:{k:02x}"])):
                t0 = time.perf_counter()
                done = subprocess.run(argv, env=environ, check=False, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
                timings[label].append(time.perf_counter() - t0)
                if done.returncode:
                    raise RuntimeError(f"{' '.join(argv[1:])} ({tag}): exit {done.returncode}: "
                                       f"{done.stderr.decode()[-500:]}")
            subprocess.run([rocks, "remove", "host", name], env=environ, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return timings

    with ksserver(cluster):
        measure(env, 2, "0d")  # each worker loads the command table on its first command
        delegated = measure(env, runs, "0e")
        t0 = time.perf_counter()
        subprocess.run([rocks, "list", "host", "attr"], env=env, check=True, stdout=subprocess.DEVNULL)
        attr_all = time.perf_counter() - t0
    local = measure(local_env, local_runs, "0f")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t0
    out = {f"{name}_median_ms": round(statistics.median(v) * 1000, 1) for name, v in delegated.items()}
    out.update({f"local_{name}_median_ms": round(statistics.median(v) * 1000, 1)
                for name, v in local.items()})
    out["list_host_attr_all_ms"] = round(attr_all * 1000, 1)
    out["python_startup_ms"] = round(bare * 1000, 1)
    out["median_ms"] = max(out["list_host_median_ms"], out["list_host_all_median_ms"], out["add_host_median_ms"])
    return out
