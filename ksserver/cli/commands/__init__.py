"""Importing this package registers every ``rocks`` command (one module per noun)."""

from ksserver.cli import serve  # noqa: F401
from ksserver.cli.commands import (  # noqa: F401
    appliances, attrs, boot, console, dist, graph, hosts, init, install, interfaces, networks, ostrees, partitions,
    proxy, rolls, shoot, users, vms)
