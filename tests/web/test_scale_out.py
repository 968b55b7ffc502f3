"""Several ksserver instances on one PostgreSQL behind nginx or HAProxy, for real (docs/scale-out.md): a change is
served by every instance on its next request, every instance serves the same bytes, the proxy's
X-Forwarded-For is the only one believed, and killing an instance mid-storm loses no installer."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.procs import free_port, stop_group
from tests.web.test_serve_http import LOOPNET_HOST, add_loopnet

pytestmark = [pytest.mark.timeout(240), pytest.mark.postgres]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
PROXIES = {"nginx": (NGINX, "nginx-light"), "haproxy": (HAPROXY, "haproxy")}
MAC = "52:54:00:00:01:00"


@pytest.fixture
def db_url(pg_server):
    import uuid

    name = "t_" + uuid.uuid4().hex[:12]
    yield pg_server.create_database(name)
    pg_server.drop_database(name)


def _wait_port(port: int, proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"process exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _wait_healthy(port: int, proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Until the instance answers its health check: its port accepts connections before its workers have
    loaded, and a proxy started meanwhile would mark it down (HAProxy: two checks of 1 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("instance exited")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/install/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"instance on {port} never became healthy")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:  # type: ignore[type-arg]
    stop_group(proc, sig, timeout=30)
    if proc.stderr is not None:
        proc.stderr.close()


@contextlib.contextmanager
def instances(settings, count: int, roots: list[Path] | None = None,  # type: ignore[no-untyped-def]
              **extra: str) -> Iterator[list[tuple[int, subprocess.Popen]]]:  # type: ignore[type-arg]
    """``count`` ksserver instances on the same database (on ``roots``, default all on the test's root);
    the proxy (on 127.0.0.1) is trusted.  ``extra``: more KSSERVER_* settings."""
    env = dict(os.environ, KSSERVER_ROOT=str(settings.root), KSSERVER_DATABASE_URL=settings.database_url,
               KSSERVER_TRUSTED_PROXIES="127.0.0.1", KSSERVER_LOG_LEVEL="WARNING",
               **{f"KSSERVER_{name.upper()}": value for name, value in extra.items()})
    started = []
    try:
        for k in range(count):
            if roots is not None:
                env["KSSERVER_ROOT"] = str(roots[k])
            port = free_port()
            env["KSSERVER_FILES_BIND"] = f"127.0.0.1:{free_port()}"  # not port + 1: another instance may hold it
            proc = subprocess.Popen([sys.executable, "-m", "ksserver.cli.serve", "serve", "--bind",
                                     f"127.0.0.1:{port}", "--workers", "1"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            started.append((port, proc))
        for port, proc in started:
            _wait_port(port, proc)
            _wait_healthy(port, proc)
        yield started
    finally:
        for _, proc in started:
            _stop(proc)


def proxy_config(cluster, kind: str, backends: list[int], port: int,  # type: ignore[no-untyped-def]
                 scratch: Path) -> Path:
    done = cluster("report", "proxy", "backends=" + ",".join(f"127.0.0.1:{b}" for b in backends),
                   f"listen=127.0.0.1:{port}", f"scratch={scratch}", f"format={kind}")
    assert done.code == 0, done.err
    path = scratch / f"{kind}.conf"
    path.write_text(done.out)
    return path


@contextlib.contextmanager
def proxy(cluster, backends: list[int], kind: str = "nginx") -> Iterator[int]:  # type: ignore[no-untyped-def]
    scratch = Path(tempfile.mkdtemp(prefix="ksserver-proxy-"))
    port = free_port()
    conf = proxy_config(cluster, kind, backends, port, scratch)
    if kind == "nginx":
        argv, stop = [NGINX, "-c", str(conf), "-p", str(scratch), "-g", "daemon off;"], signal.SIGQUIT
    else:
        argv, stop = [HAPROXY, "-db", "-f", str(conf)], signal.SIGTERM
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_port(port, proc)
        yield port
    finally:
        _stop(proc, stop)
        shutil.rmtree(scratch, ignore_errors=True)


def fetch(port: int, path: str = "/install/sbin/kickstart.cgi", source: str = LOOPNET_HOST,
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        # Installers reach a scale-out site by one name (the proxy's); the plugin sections name it back.
        conn.request("GET", path, headers={"X-RHN-Provisioning-MAC-0": f"eth0 {MAC}", "Host": "ksserver.local",
                                           **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture(params=sorted(PROXIES))
def farm(request, cluster, settings):  # type: ignore[no-untyped-def]
    binary, package = PROXIES[request.param]
    if binary is None:
        pytest.skip(f"{request.param} not installed (Debian package {package})")
    add_loopnet(cluster)
    package = settings.dist_dir / "rocks-dist" / "x86_64" / "Packages" / "tool.rpm"
    package.parent.mkdir(parents=True, exist_ok=True)
    package.write_bytes(os.urandom(300_000))
    with instances(settings, 3) as started, \
            proxy(cluster, [port for port, _ in started], request.param) as front:
        yield cluster, [port for port, _ in started], started, front


def test_every_instance_serves_the_same_bytes_and_sees_every_change(farm):
    cluster, ports, _, front = farm
    through_proxy = fetch(front)
    assert through_proxy[0] == 200 and b"compute-0-0" in through_proxy[1]
    direct = {fetch(port) for port in ports}  # each instance, from the host's own address
    assert direct == {through_proxy}
    files = {fetch(port, "/install/rocks-dist/x86_64/Packages/tool.rpm") for port in ports + [front]}
    assert len(files) == 1 and next(iter(files))[0] == 200
    assert {fetch(port, "/install/health") for port in ports} == {(200, b"ok\n")}  # the proxy's health check
    # A change made once (the CLI writes the shared database) is served by every instance's next request.
    assert cluster("set", "host", "attr", "compute-0-0", "Kickstart_Timezone", "Pacific/Auckland").code == 0
    bodies = {fetch(port)[1] for port in ports}
    assert len(bodies) == 1 and b"Pacific/Auckland" in bodies.pop()


def test_forwarded_for_is_the_proxys_alone(farm):
    front = farm[3]
    # Through the proxy from an address that is no host's: a forged header does not make it one.
    status, _ = fetch(front, source="127.0.0.1", headers={"X-Forwarded-For": LOOPNET_HOST})
    assert status == 403
    assert fetch(front)[0] == 200  # the real host, through the proxy


def test_killing_an_instance_mid_storm_loses_no_installer(farm):
    _, _, started, front = farm
    results: list[int] = []
    lock = threading.Lock()
    half = threading.Event()

    def installer(count: int) -> None:
        for _ in range(count):
            status = fetch(front)[0]
            with lock:
                results.append(status)
                if len(results) >= 60:
                    half.set()

    threads = [threading.Thread(target=installer, args=(40,)) for _ in range(4)]
    for t in threads:
        t.start()
    assert half.wait(120)
    _stop(started[0][1], signal.SIGKILL)  # no goodbye: connections reset mid-request
    for t in threads:
        t.join(timeout=180)
    assert len(results) == 160 and set(results) == {200}


@pytest.mark.skipif(HAPROXY is None, reason="haproxy not installed (Debian package haproxy)")
def test_haproxy_accepts_the_generated_configuration(cluster, tmp_path):
    conf = proxy_config(cluster, "haproxy", [8081, 8082], 8080, tmp_path)
    checked = subprocess.run([HAPROXY, "-c", "-f", str(conf)], check=False, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = conf.read_text()
    # The client's header is dropped before HAProxy adds its own; dead instances are retried elsewhere.
    assert text.index("http-request del-header X-Forwarded-For") < text.index("option forwardfor")
    assert "option redispatch" in text and "retry-on conn-failure empty-response" in text


def test_proxy_configuration_refuses_injected_text(cluster):
    for kind in ("nginx", "haproxy"):
        for bad in ("backends=127.0.0.1:80\n  server evil 10.0.0.1:80", "backends=127.0.0.1:80;x",
                    "backends=127.0.0.1:0"):
            done = cluster("report", "proxy", bad, f"format={kind}")
            assert done.code != 0 and "backend" in done.err
        done = cluster("report", "proxy", "backends=127.0.0.1:80", "scratch=/tmp/x y", f"format={kind}")
        assert done.code != 0 and "scratch" in done.err


def _tree(tftp: Path) -> dict[str, str]:
    from tests.services.test_tftp_follow import answers

    return answers(tftp)


def _eventually_equal(first: Path, second: Path) -> float:
    """Seconds until the two trees' answers are equal (bounded: the test fails, it does not time)."""
    start = time.monotonic()
    while time.monotonic() - start < 60:
        if _tree(first) == _tree(second):
            return time.monotonic() - start
        time.sleep(0.05)
    assert _tree(first) == _tree(second)
    return time.monotonic() - start


def test_every_instance_keeps_its_own_tftp_tree_current(cluster, settings, tmp_path):
    """Two instances on separate roots (B's shares A's install/ and token key, not its tftpboot):
    a boot change made through A is in B's tree and in B's iPXE answer; so is a host's removal."""
    from ksserver.services.bootfiles import token_key

    token_key(settings, create=True)
    root_b = tmp_path / "instance-b"
    root_b.mkdir()
    for entry in settings.root.iterdir():
        if entry.name != "tftpboot":
            (root_b / entry.name).symlink_to(entry)
    tftp_a, tftp_b = settings.tftp_dir, root_b / "tftpboot"
    ipxe = "/install/ipxe?mac=52:54:00:00:01:00"
    with instances(settings, 2, roots=[settings.root, root_b], tftp_follow="yes") as started:
        ports = [port for port, _ in started]
        _eventually_equal(tftp_a, tftp_b)
        assert cluster("set", "host", "boot", "compute-0-0", "action=install").code == 0
        took = _eventually_equal(tftp_a, tftp_b)
        assert any("token=" in text for text in _tree(tftp_b).values())
        served = {fetch(port, ipxe, source="127.0.0.1") for port in ports}
        assert len(served) == 1 and b"token=" in served.pop()[1]
        assert cluster("remove", "host", "compute-0-0").code == 0
        took = max(took, _eventually_equal(tftp_a, tftp_b))
        assert not [name for name, text in _tree(tftp_b).items() if "compute-0-0" in text]
        print(f"instance B's tree caught up within {took:.2f} s")


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (Debian package nginx-light)")
def test_an_instance_with_its_own_install_serves_the_published_bundle(cluster, settings, tmp_path):
    """B has its own install/ (its OS tree only) and never ran rocks-dist: the kickstart and the plugin
    bundle it names come through the proxy from B, written from the database (ksserver.published)."""
    from installer_plugin.bundle import BUNDLE_NAME

    add_loopnet(cluster)
    assert cluster("create", "distro").code == 0
    root_b = tmp_path / "instance-b"
    root_b.mkdir()
    for entry in settings.root.iterdir():
        if entry.name not in ("install", "tftpboot"):
            (root_b / entry.name).symlink_to(entry)
    (root_b / "install" / "os" / "x86_64").mkdir(parents=True)
    bundle = f"/install/rocks-dist/x86_64/{BUNDLE_NAME}"
    with instances(settings, 1, roots=[root_b]) as started, proxy(cluster, [started[0][0]]) as front:
        status, kickstart = fetch(front)
        assert status == 200 and f"ksserver.local{bundle}".encode() in kickstart
        assert fetch(front, bundle) == (200, (settings.dist_dir / bundle[len("/install/"):]).read_bytes())
    assert (root_b / "install" / "rocks-dist" / "x86_64").is_symlink()
