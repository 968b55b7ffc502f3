"""``ksserver serve`` with its install-tree listener: the kickstart's ``url`` line leads installers to it,
it serves the tree, and it lives and dies with the server (a port in use is an error said at once)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ksserver.cli.client import run_file
from tests.netboot.ksserve import ksserver
from tests.procs import free_port
from tests.web.test_serve_http import _fetch_ks, add_loopnet

pytestmark = pytest.mark.timeout(120)

MAC = "52:54:00:00:01:00"  # compute-0-0


def _fetch(url: str, headers: dict[str, str] | None = None) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
        return response.read()


def _kickstart(port: int) -> str:
    """compute-0-0's kickstart, asked from its own address (a kickstart goes to its host only)."""
    return _fetch_ks(f"http://127.0.0.1:{port}", MAC)


def _listener_pids(port: int) -> set[int]:
    """Processes holding a socket listening on ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    inodes.add(fields[9])
    pids = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    pids.add(int(pid))
        except OSError:
            continue
    return pids


def test_installers_download_from_the_listener_their_kickstart_names(cluster, settings):
    add_loopnet(cluster)
    files_port = free_port()
    assert cluster("set", "attr", "Kickstart_PrivateInstallHost", f"127.0.0.1:{files_port}").code == 0
    package = os.urandom(200_000)
    tree = settings.dist_dir / "rocks-dist" / "x86_64" / "Packages"
    tree.mkdir(parents=True)
    (tree / "bash.rpm").write_bytes(package)
    with ksserver(settings, files_port=files_port) as port:
        kickstart = _kickstart(port)
        url = re.search(r"^url --url (\S+)$", kickstart, re.M).group(1)  # type: ignore[union-attr]
        assert url == f"http://127.0.0.1:{files_port}/install/rocks-dist/x86_64"
        assert _fetch(f"{url}/Packages/bash.rpm") == package
        # The main port serves the same tree (proxies, older kickstarts).
        assert _fetch(f"http://127.0.0.1:{port}/install/rocks-dist/x86_64/Packages/bash.rpm") == package
        # A worker that dies is replaced; the listener keeps answering.
        _kill_a_worker_and_see_it_replaced(files_port)
        assert _fetch(f"{url}/Packages/bash.rpm") == package
    # Stopped with the server: nothing is left holding the port.
    _assert_released(files_port)


def test_serve_replaces_a_dead_front_worker_and_leaves_nothing_behind(cluster, settings):
    """The kickstart port's workers (the uvloop front, the default): a killed one is forked again and
    kickstarts go on; once ``serve`` stops, nothing holds the port."""
    add_loopnet(cluster)
    with ksserver(settings) as port:
        assert _kickstart(port).startswith("#")
        _kill_a_worker_and_see_it_replaced(port)  # ksserver serve itself supervises them
        for _ in range(4):
            assert _kickstart(port).startswith("#")
    _assert_released(port)


def _kill_a_worker_and_see_it_replaced(port: int) -> None:
    workers = _listener_pids(port)
    assert len(workers) >= 3  # the supervisor and its two workers
    victim = max(workers)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(_listener_pids(port) - {victim}) < len(workers):
        time.sleep(0.1)
    assert len(_listener_pids(port) - {victim}) == len(workers)


def _assert_released(port: int) -> None:
    deadline = time.monotonic() + 10
    while _listener_pids(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _listener_pids(port)


def _serve_with_port_taken(settings, taken: str, files_bind: str) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def,type-arg]
    """``ksserver serve`` started while something else holds ``taken`` (its bind or its files_bind)."""
    host, _, number = taken.rpartition(":")
    with socket.create_server((host, int(number))):
        env = dict(os.environ, KSSERVER_ROOT=str(settings.root), KSSERVER_DATABASE_URL=settings.database_url,
                   KSSERVER_FILES_BIND=files_bind)
        bind = taken if files_bind != taken else f"127.0.0.1:{free_port()}"
        done = subprocess.run([sys.executable, "-m", "ksserver.cli.serve", "serve", "--bind", bind], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
    assert not run_file(settings.root).exists()
    return done


def test_a_listener_port_in_use_stops_serve_with_a_clear_error(cluster, settings):
    files_bind = f"127.0.0.1:{free_port()}"
    done = _serve_with_port_taken(settings, files_bind, files_bind)
    assert done.returncode != 0
    assert files_bind in done.stderr and "files_bind" in done.stderr and "Traceback" not in done.stderr


def test_a_kickstart_port_in_use_stops_serve_with_a_clear_error(cluster, settings):
    bind = f"127.0.0.1:{free_port()}"
    done = _serve_with_port_taken(settings, bind, "off")
    assert done.returncode != 0
    assert bind in done.stderr and "bind" in done.stderr and "Traceback" not in done.stderr


def test_the_listener_can_be_turned_off(cluster, settings):
    add_loopnet(cluster)
    files_port = free_port()
    with ksserver(settings, env={"KSSERVER_FILES_BIND": "off"}, files_port=files_port) as port:
        assert _kickstart(port).startswith("#")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", files_port), timeout=2).close()
