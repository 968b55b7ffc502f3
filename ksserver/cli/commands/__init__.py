"""Importing this package registers every ``rocks`` command (one module per noun)."""

from ksserver.cli.commands import appliances, attrs, boot, dist, graph, hosts, init, interfaces, networks, partitions, vms  # noqa: F401
