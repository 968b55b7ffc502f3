"""rocks list host status (where each host's install is) and rocks report dhcpd (issue #12)."""

from __future__ import annotations

import time

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import Call, Choice, Param, command
from ksserver.services import dhcp as lifecycle_dhcp
from ksserver.services import lifecycle


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


@command("list", "host", "status", summary="Show the install stage each host last reported, with times; "
                                           "'stalled' when an unfinished install has been silent longer than "
                                           "the install_stall_after setting.", args="[HOST...]", output=True)
def list_host_status(ctx: Context, call: Call) -> None:
    rows = [(r.host, r.stage or "-", "stalled" if r.stalled else "", r.boot_action or "-", _when(r.started_at),
             _when(r.updated_at), _when(r.finished_at))
            for r in lifecycle.list_status(ctx.cluster, call.args)]
    emit(ctx.out, call["output-format"], ["HOST", "STAGE", "STALLED", "BOOT", "STARTED", "UPDATED", "FINISHED"],
         rows)


@command("report", "dhcpd", summary="Print the DHCP server configuration (dnsmasq or Kea JSON) for every host "
                                    "interface on a provisioning network.", max_args=0,
         params={"format": Param("dnsmasq (DHCP + TFTP) or kea (kea-dhcp4)", Choice(lifecycle_dhcp.FORMATS),
                                 default="dnsmasq")},
         details="Fixed addresses only (no dynamic pool). The TFTP/next server and the iPXE script URL come from "
                 "Kickstart_PrivateKickstartHost (or the install_server_url setting); a host's dhcp_nextserver "
                 "overrides its next server; dhcp_interface limits the daemon to one interface. Check the "
                 "result with 'dnsmasq --test --conf-file=FILE' or 'kea-dhcp4 -t FILE'.")
def report_dhcpd(ctx: Context, call: Call) -> None:
    ctx.out.write(lifecycle_dhcp.report_dhcpd(ctx.cluster, call["format"]))
