"""The ``rocks`` script as a process: delegated to a real ``ksserver serve`` it prints the same bytes and
exits with the same code as the in-process CLI (``KSSERVER_CLI_LOCAL=1``); without a live server it is the
in-process CLI; its module loads no database code."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netboot.ksserve import free_port, ksserver

pytestmark = pytest.mark.timeout(180)
ROCKS = str(Path(sys.executable).with_name("rocks"))
# Runs the client's main() as the rocks script does; says on stderr whether SQLAlchemy got loaded (= it ran here).
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: sys.__stderr__.write(\n"
         "    '[sqlalchemy loaded]\\n' if 'sqlalchemy' in sys.modules else ''))\n"
         "from ksserver.cli.client import main\n"
         "sys.argv = ['rocks', *sys.argv[1:]]\n"
         "main()\n")


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def _env(settings, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KSSERVER_")}
    # as tests/netboot/ksserve.py starts the server
    env.update(KSSERVER_ROOT=str(settings.root), KSSERVER_DATABASE_URL=settings.database_url,
               KSSERVER_INSTALL_SERVER_URL=settings.install_server_url, **extra)
    return env


def rocks(settings, *argv: str, local: bool = False,  # type: ignore[no-untyped-def]
          probe: bool = False) -> tuple[int, bytes, bytes]:
    env = _env(settings, **({"KSSERVER_CLI_LOCAL": "1"} if local else {}))
    cmd = [sys.executable, "-c", PROBE, *argv] if probe else [ROCKS, *argv]
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                          check=False)
    return done.returncode, done.stdout, done.stderr


def _ran_here(settings, *argv: str) -> bool:  # type: ignore[no-untyped-def]
    return b"[sqlalchemy loaded]" in rocks(settings, *argv, probe=True)[2]


@pytest.fixture
def served(cluster, settings):  # type: ignore[no-untyped-def]
    """The test cluster with a real server of the same settings (as the environment of _env gives them)."""
    with ksserver(settings) as port:
        info = json.loads((settings.root / "run" / "server.json").read_text())
        assert (info["host"], info["port"]) == ("127.0.0.1", port)
        yield port
    assert not (settings.root / "run" / "server.json").exists()  # a clean stop removes it


READS = [("list", "host"), ("list", "host", "compute-0-1", "frontend"),
         ("list", "host", "output-format=json"),
         ("list", "host", "nosuch"), ("list", "host", "interface"), ("list", "membership"), ("bogus", "word"),
         ("list", "host", "compute-0-0", "colour=red"), (), ("help", "list"), ("list", "host", "--help"),
         ("list", "host", "attr", "compute-0-0")]


def test_delegated_reads_match_the_local_cli(served, settings):
    for argv in READS:
        assert rocks(settings, *argv) == rocks(settings, *argv, local=True), argv
    assert not _ran_here(settings, "list", "host")
    assert not _ran_here(settings, "list", "host", "nosuch")  # errors come from the server too


def test_delegated_writes_match_the_local_cli(served, settings):
    add = ("add", "host", "compute-0-5", "mac=52:54:00:00:01:05")
    delegated = rocks(settings, *add)
    assert delegated[0] == 0 and delegated[1].startswith(b"added host compute-0-5 ("), delegated
    assert rocks(settings, *add) == rocks(settings, *add, local=True)  # the same error, the same exit code
    assert rocks(settings, "remove", "host", "compute-0-5", local=True)[0] == 0
    assert rocks(settings, *add, local=True) == delegated  # the same address allocated, the same words
    assert rocks(settings, "list", "audit")[1].count(b"rocks add host") == 1  # the delegated one only
    assert not _ran_here(settings, "add", "host", "compute-0-6")


def test_local_commands_and_the_switch_run_here(served, settings, tmp_path):
    assert _ran_here(settings, "set", "password")               # declared local: reads the terminal
    csv = tmp_path / "hosts.csv"
    csv.write_text("name,mac\ncompute-0-9,52:54:00:00:01:09\n")
    assert _ran_here(settings, "add", "host", f"file={csv}")     # a path on this machine
    assert rocks(settings, "list", "host", "compute-0-9")[0] == 0
    env = _env(settings, KSSERVER_CLI_LOCAL="1")
    done = subprocess.run([sys.executable, "-c", PROBE, "list", "host"], env=env, capture_output=True,
                          timeout=60, check=False)
    assert b"[sqlalchemy loaded]" in done.stderr
    # other settings than the server's (here: evals on): the server declines, the result is the local one
    env = _env(settings, KSSERVER_EVALS="yes")
    done = subprocess.run([sys.executable, "-c", PROBE, "list", "host"], env=env, capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and b"[sqlalchemy loaded]" in done.stderr


def test_a_stale_run_file_falls_back(cluster, settings):
    expected = rocks(settings, "list", "host", local=True)
    with ksserver(settings):
        run_file = settings.root / "run" / "server.json"
        stale = run_file.read_text()
    run_file.write_text(stale)                                    # its process is gone
    assert rocks(settings, "list", "host") == expected
    info = dict(json.loads(stale), pid=os.getpid(), port=free_port())  # a live pid, nothing listening
    run_file.write_text(json.dumps(info))
    assert rocks(settings, "list", "host") == expected
    assert _ran_here(settings, "list", "host")
    run_file.write_text("{not json")
    assert rocks(settings, "list", "host") == expected


def test_an_unreadable_or_refused_token_falls_back(served, settings):
    expected = rocks(settings, "list", "host", local=True)
    token = settings.root / "admin-token"
    good = token.read_text()
    token.write_text("not-the-token\n")                           # refused (403): nothing ran there
    assert rocks(settings, "list", "host") == expected and _ran_here(settings, "list", "host")
    token.unlink()
    assert rocks(settings, "list", "host") == expected and _ran_here(settings, "list", "host")
    token.write_text(good)
    assert not _ran_here(settings, "list", "host")


def test_a_killed_server_leaves_a_usable_cli(cluster, settings):
    with ksserver(settings):
        info = json.loads((settings.root / "run" / "server.json").read_text())
        os.kill(info["pid"], signal.SIGKILL)  # no clean-up: the run file stays (its workers may linger)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info["pid"], 0)
        assert rocks(settings, "list", "host") == rocks(settings, "list", "host", local=True)
        assert _ran_here(settings, "list", "host")


def test_chunked_huge_body_is_refused(served, settings):
    """The limit holds whatever the framing: a chunked body without Content-Length is cut at the limit."""
    token = (settings.root / "admin-token").read_text().strip()
    with socket.create_connection(("127.0.0.1", served), timeout=30) as sock:
        sock.sendall(f"POST /cli/v1/run HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode())
        chunk = b"x" * 65536
        try:
            for _ in range(8):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may stop reading once it has seen enough
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_the_client_module_loads_no_database_code(cluster, settings):
    """Measured by importing it and running its lookup (no server here) in a fresh interpreter."""
    code = ("import sys, ksserver.cli.client as c\n"
            "assert c.delegate(['list', 'host']) is None\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'flask', 'werkzeug', 'lxml', 'granian', 'alembic') or m.startswith("
            "('ksserver.db', 'ksserver.services', 'ksserver.inventory', 'ksserver.web', "
            "'ksserver.cli.context', 'ksserver.cli.registry', 'ksserver.cli.commands', 'http.client', "
            "'email')))))\n")
    done = subprocess.run([sys.executable, "-c", code], env=_env(settings), capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == ""
