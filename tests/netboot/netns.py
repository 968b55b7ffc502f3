"""A private network namespace for DHCP/TFTP boot tests: a bridge with the server address and a tap
for QEMU, nothing routed outside.  Processes started through it are killed, and the namespace deleted,
on exit, whatever happened."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from pathlib import Path
from typing import Self

import pytest

from tests.lifecycle.tools import need


class NetNamespace:
    def __init__(self, server_cidr: str = "10.77.0.1/24", bridge: str = "br0", tap: str = "tap0"):
        self.name = f"ksnb-{os.getpid()}-{secrets.token_hex(3)}"
        self.server_cidr, self.bridge, self.tap = server_cidr, bridge, tap
        self.server_ip = server_cidr.split("/")[0]
        self.processes: list[subprocess.Popen] = []
        self.created = False

    @property
    def prefix(self) -> list[str]:
        """Run a command inside the namespace: ``[*ns.prefix, "dnsmasq", ...]``."""
        return [self.ip, "netns", "exec", self.name]

    def _ip(self, *args: str) -> None:
        subprocess.run([self.ip, *args], check=True, capture_output=True, timeout=30)

    def __enter__(self) -> Self:
        if os.geteuid() != 0:
            pytest.skip("network namespaces need root (CI runs as root)")
        self.ip = need("ip", "iproute2")
        if not Path("/dev/net/tun").exists():
            pytest.skip("/dev/net/tun missing: no tap devices on this kernel")
        self._ip("netns", "add", self.name)
        self.created = True
        try:
            inside = ["netns", "exec", self.name, self.ip]
            self._ip(*inside, "link", "set", "lo", "up")
            self._ip(*inside, "tuntap", "add", "dev", self.tap, "mode", "tap")
            self._ip(*inside, "link", "add", self.bridge, "type", "bridge")
            self._ip(*inside, "link", "set", self.tap, "master", self.bridge)
            self._ip(*inside, "addr", "add", self.server_cidr, "dev", self.bridge)
            self._ip(*inside, "link", "set", self.bridge, "up")
            self._ip(*inside, "link", "set", self.tap, "up")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def start(self, cmd: list[str], log: Path) -> subprocess.Popen:
        """Start a long-running process inside the namespace; it is stopped on exit."""
        with open(log, "w") as out:
            process = subprocess.Popen([*self.prefix, *cmd], stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        # Anything else still inside (a stray child) dies with the namespace's processes.
        if self.created:
            pids = subprocess.run([self.ip, "netns", "pids", self.name], check=False, capture_output=True,
                                  text=True, timeout=30).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run([self.ip, "netns", "del", self.name], check=False, capture_output=True, timeout=30)
            self.created = False
