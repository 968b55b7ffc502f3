"""Start a server on loopback and drive it with wrk (a separate process, in C: not the bottleneck)."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

KS_PATH = "/install/sbin/kickstart.cgi"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


@contextlib.contextmanager
def server(argv: list[str], env: dict[str, str], url: str, ready_headers: dict[str, str] | None = None,
           timeout: float = 60) -> Iterator[tuple[subprocess.Popen, float]]:
    """Run ``argv``; yield (process, seconds until ``url`` first answered 200)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=_raise_nofile, start_new_session=True)
    ready = None
    try:
        deadline = start + timeout
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                req = urllib.request.Request(url, headers=ready_headers or {})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        resp.read()
                        ready = time.perf_counter() - start
                        break
            except OSError:
                time.sleep(0.01)
        if ready is None:
            raise RuntimeError(f"server at {url} not ready after {timeout} s")
        yield proc, ready
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def ksserver_argv(bind: str, workers: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "ksserver.cli.serve", "serve", "--bind", bind, "--workers", str(workers),
            "--threads", str(threads)]


def host_lua(macs: list[str], method: str = "GET", path: str = f"{KS_PATH}?arch=x86_64&np=1",
             body: str | None = None) -> str:
    """A wrk script: each request is the next host's, with its anaconda MAC header and, like an
    installer, its own connection."""
    table = ",".join(f'"{m}"' for m in macs)
    body_lua = "nil" if body is None else '"' + body.replace("\\", "\\\\").replace('"', '\\"') + '"'
    content_type = '["Content-Type"] = "application/json",' if body is not None else ""
    return f"""
local macs = {{{table}}}
local n = #macs
local i = 0
local body = {body_lua}
request = function()
  i = i + 1
  local mac = macs[(i % n) + 1]
  return wrk.format("{method}", "{path}", {{
    ["X-RHN-Provisioning-MAC-0"] = "eth0 " .. mac,
    ["X-Anaconda-Architecture"] = "x86_64",
    ["X-Anaconda-System-Release"] = "Rocky Linux",
    {content_type}
    ["Connection"] = "close"}}, body)
end
"""


def mac_lua(macs: list[str]) -> str:
    return host_lua(macs)


_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m[1]) * _UNITS[m[2]] if m else float("nan")


def run_wrk(url: str, script: str | None, connections: int, duration: float, threads: int = 1,
            timeout_s: int = 30) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script or "")
        lua = handle.name
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", f"--timeout={timeout_s}s", "--latency"]
    if script:
        argv += ["-s", lua]
    try:
        out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=duration + timeout_s + 60,
                             preexec_fn=_raise_nofile).stdout
    finally:
        Path(lua).unlink(missing_ok=True)
    result: dict[str, float] = {"connections": connections, "duration_s": duration}
    m = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    if m:
        result["requests"] = int(m[1])
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["throughput_rps"] = float(m[1]) if m else 0.0
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = _ms(m[1]) if m else float("nan")
    m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    result["mbytes_per_s"] = round(float(m[1]) * _BYTES[m[2]] / 1e6, 1) if m else 0.0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(m[1]) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    result["errors"] = result["non_2xx"] + result["socket_errors"]
    result["raw"] = out  # type: ignore[assignment]
    return result


def close_lua() -> str:
    """A wrk script that, like an installer, opens one connection per request."""
    return f"""
request = function()
  return wrk.format("GET", "{KS_PATH}", {{["Connection"] = "close"}})
end
"""


def report_lua(macs: list[str], body: str) -> str:
    """Posts each host's report; at the end prints ``hosts_acknowledged <k>``: the distinct hosts whose report
    the server answered 200 (the server names the host).  Requests still in flight when wrk stops are
    neither acknowledged nor counted, and once the hosts wrap around a request count says nothing of
    which hosts reported."""
    return host_lua(macs, "POST", "/install/sbin/public/partitions", body) + """
acked = {}  -- a global: done() reads it from each thread with thread:get
local threads = {}
setup = function(thread) table.insert(threads, thread) end
response = function(status, headers, body)
  if status == 200 then
    local host = string.match(body, '"host":%s*"([^"]+)"')
    if host then acked[host] = true end
  end
end
done = function(summary, latency, requests)
  local all = {}
  local k = 0
  for _, thread in ipairs(threads) do
    for host, _ in pairs(thread:get("acked")) do
      if not all[host] then all[host] = true; k = k + 1 end
    end
  end
  io.write(string.format("hosts_acknowledged %d\\n", k))
end
"""
