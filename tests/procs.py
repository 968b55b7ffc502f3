"""Helpers for tests that run real processes: a free loopback port, and stopping a process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_group(proc: subprocess.Popen,  # type: ignore[type-arg]
               sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
    """Signal ``proc``'s whole process group (it was started with ``start_new_session``), wait for it,
    and kill the group if it outlives ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
