"""rocks console host (also the ``rocks-console`` command): a host's VNC display or a VM's serial console."""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from ksserver.cli.context import Context
from ksserver.cli.registry import BOOL, Call, Param, command
from ksserver.errors import RocksError
from ksserver.services import console

_FLAGS = ("serial", "print", "force")  # rocks-console --serial is rocks console host serial=yes


class TunnelFailed(RocksError):
    """The ssh tunnel to the container's VNC display did not come up."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _tunnel(argv: list[str], port: int, wait: float = 20.0) -> Iterator[None]:
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + wait
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise TunnelFailed(f"ssh tunnel did not come up ({shlex.join(argv)})")
            time.sleep(0.1)
        yield
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@contextlib.contextmanager
def _raw_keys(stream) -> Iterator[int | None]:  # type: ignore[no-untyped-def]
    """The terminal's fd in raw mode (keys go to the guest as typed), or None without a terminal."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1
    if fd < 0 or not os.isatty(fd):
        yield None
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _serial(ctx: Context, call: Call, host: str) -> None:
    out = getattr(ctx.out, "buffer", None)

    def sink(data: bytes) -> None:
        if out is not None:
            ctx.out.flush()
            out.write(data)
            out.flush()
        else:
            ctx.out.write(data.decode("utf-8", "replace"))

    timeout = float(call["timeout"]) if call["timeout"] else None
    with _raw_keys(ctx.stdin) as keys_fd:
        if keys_fd is not None:
            ctx.err.write(f"Connected to the serial console of {host} (escape character is ^])\r\n")
            ctx.err.flush()
        why = console.serial_console(ctx.cluster, host, sink, keys_fd=keys_fd, timeout=timeout,
                                     force=call["force"])
    if why != "escape":
        ctx.err.write(f"\n[{host}: console closed: {'VM stopped' if why == 'stopped' else 'timeout'}]\n")


@command("console", "host",
         local=True, summary="Open a host's console: a VM's VNC display (tunnelled over ssh when its "
                                     "container is remote) or, with serial=yes, its serial console; a "
                                     "physical node's installer VNC (port 5901).", args="HOST",
         min_args=1, max_args=1,
         params={"serial": Param("stream a VM's serial console on this terminal (leave with Ctrl-])", BOOL, False),
                 "print": Param("only print the commands that open the VNC display", BOOL, False),
                 "timeout": Param("serial: stop after this many seconds (default: until the VM stops)"),
                 "force": Param("serial: take the console over from another client", BOOL, False)},
         details="Starts the first VNC viewer on PATH (remote-viewer, vncviewer, xtightvncviewer, xvnc4viewer); "
                 "without one it prints the exact commands to run. Also installed as rocks-console "
                 "(rocks-console HOST [--serial] [--print]). A physical node's installer must run with inst.vnc "
                 "(boot action 'install headless'); host attribute install_vnc_port overrides 5901.")
def console_host(ctx: Context, call: Call) -> None:
    host = call.args[0]
    if call["serial"]:
        _serial(ctx, call, host)
        return
    target = console.vnc_target(ctx.cluster, host, local_port=_free_port())
    viewer = console.viewer_argv(target)
    if call["print"] or viewer is None:
        if viewer is None and not call["print"]:
            ctx.err.write("no VNC viewer on PATH (remote-viewer, vncviewer, xtightvncviewer); run:\n")
        for line in console.suggested_commands(target):
            ctx.out.write(line + "\n")
        return
    with _tunnel(target.tunnel_argv, target.port) if target.ssh_host else contextlib.nullcontext():
        subprocess.run(viewer, check=False)


def main() -> None:
    """The ``rocks-console HOST [--serial] [--print] [--force] [--timeout N]`` console script."""
    from ksserver.cli import run

    argv = [f"{a[2:]}=yes" if a.startswith("--") and a[2:] in _FLAGS else a for a in sys.argv[1:]]
    try:
        code = run(["console", "host", *argv])
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
